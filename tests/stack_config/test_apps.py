# ruff: noqa: E501  (table-driven cases read best one per line)
"""``containerApps`` in a stack file: a map or a list, each app validated with the stack keys'
own checks; the deprecated ``containerApp.*`` keys as one app with a deprecation message; the
apps' services declared for per-service alert overrides."""

from __future__ import annotations

import textwrap

import pytest

from llm_insights_kit.alerts import load_rules
from llm_insights_kit.errors import KitError
from llm_insights_kit.stack_config.files import read_stack_file, render_context

MULTI_APP = """\
config:
  llm-insights:telemetry.tracesSamplerArg: 3
  llm-insights:containerApps:
    chat-api:
      image: myregistry.azurecr.io/chat-api:1.4.2
      minReplicas: 1
      dailyBudgetUsd: 30
    triage-agent:
      image: myregistry.azurecr.io/triage-agent:0.9.0
      tracesSampler: microsoft.fixed.percentage
      tracesSamplerArg: 0.5
  llm-insights:alerts:
    llm-error-rate-high:
      services:
        triage-agent: {threshold: 0.2}
"""


def _file(tmp_path, text: str):
    path = tmp_path / "Pulumi.qa.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_map_of_apps_each_with_its_own_settings(tmp_path):
    settings = read_stack_file(_file(tmp_path, MULTI_APP))
    chat, agent = settings.container_apps
    assert (chat.name, chat.telemetry.service_name, chat.min_replicas) == (
        "chat-api",
        "chat-api",
        1,
    )
    assert (chat.telemetry.traces_sampler_arg, chat.daily_budget_usd) == (3.0, 30.0)
    assert agent.telemetry.traces_sampler == "microsoft.fixed.percentage"
    assert agent.telemetry.traces_sampler_arg == 0.5 and agent.daily_budget_usd is None
    assert settings.deprecations == ()
    assert settings.services() == {"chat-api", "triage-agent"}


def test_a_list_of_apps_reads_the_same(tmp_path):
    listed = MULTI_APP.replace("    chat-api:\n", "    - name: chat-api\n").replace(
        "    triage-agent:\n", "    - name: triage-agent\n"
    )
    assert "- name" in listed
    as_map = read_stack_file(_file(tmp_path, MULTI_APP)).container_apps
    as_list = read_stack_file(_file(tmp_path, listed)).container_apps
    assert as_list == as_map


def test_the_declared_services_check_per_service_alert_overrides(tmp_path):
    ctx = render_context(None, _file(tmp_path, MULTI_APP))
    assert ctx.services == {"chat-api", "triage-agent"}
    names = [r.name for r in load_rules(ctx)]
    assert "llm-error-rate-high-triage-agent" in names
    typo = _file(tmp_path, MULTI_APP.replace("        triage-agent: {", "        triage-agnet: {"))
    with pytest.raises(KitError) as info:
        load_rules(render_context(None, typo))
    assert info.value.where.endswith(
        "llm-insights:alerts.llm-error-rate-high.services.triage-agnet"
    )
    assert "this stack's services: chat-api, triage-agent" in info.value.problem


def test_the_deprecated_keys_are_one_app_with_a_message(tmp_path):
    settings = read_stack_file(
        _file(tmp_path, "config:\n  llm-insights:containerApp.image: reg.io/app:1\n")
    )
    (app,) = settings.container_apps
    assert (app.name, app.image, app.legacy, app.telemetry.service_name) == (
        "llm-app", "reg.io/app:1", True, "llm-app",
    )  # fmt: skip
    (note,) = settings.deprecations
    assert "containerApp.* is deprecated: use llm-insights:containerApps" in note


@pytest.mark.parametrize(
    ("apps", "message"),
    [
        ("{chat-api: {image: x:1, cpu: 0.3}}", "llm-insights:containerApps.chat-api.cpu = 0.3: must be one of"),
        ("{chat-api: {cpu: 1}}", "llm-insights:containerApps.chat-api.image is required"),
        ("{chat-api: {image: x:1, replicas: 2}}", "containerApps.chat-api.replicas = 2: unknown field; allowed: name, image"),
        ("{a1: {image: x:1, serviceName: s}, b1: {image: x:1, serviceName: s}}", "apps a1 and b1 share the serviceName 's'"),
        ("{a1: {image: x:1, pricingDeployments: {d: {type: Nope}}}}", "containerApps.a1.pricingDeployments.d.type = Nope: allowed: GlobalStandard"),
        ("[{image: x:1}]", "containerApps[0]"),
        ("7", "must be a mapping of app name"),
    ],
)  # fmt: skip
def test_bad_apps_name_the_app_and_field(tmp_path, apps, message):
    path = _file(tmp_path, f"config:\n  llm-insights:containerApps: {apps}\n")
    with pytest.raises(KitError) as info:
        read_stack_file(path)
    assert message in str(info.value)


def test_the_kits_commands_warn_about_the_deprecated_keys(tmp_path, capsys):
    path = _file(tmp_path, "config:\n  llm-insights:containerApp.image: reg.io/app:1\n")
    render_context(None, path)
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {path}: llm-insights:containerApp.* is deprecated")
