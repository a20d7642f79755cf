"""The fake OpenAI server as a command: its help lists every scenario and how to pick it, and
each is reachable from the command line (header, model name, --default, --script)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from llm_insights_kit.fake_openai.cli import build, main, parser
from llm_insights_kit.fake_openai.scripted import BUILTIN_SCENARIOS, SCENARIO_HELP

pytestmark = pytest.mark.e2e
MSG = [{"role": "user", "content": "how much is ibuprofen?"}]
ROOT = Path(__file__).resolve().parents[2]


def _client(srv) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0)


def test_help_lists_every_scenario_and_how_to_pick_it(capsys) -> None:
    assert set(SCENARIO_HELP) == set(BUILTIN_SCENARIOS)  # none undocumented
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in BUILTIN_SCENARIOS:
        assert re.search(rf"^  {name} +\S", out, re.M), name
    for way in ("x-standin-scenario: <scenario>", "standin-<scenario>", "--default", "--script"):
        assert way in out
    for kind in ("429", "retry-after", "content_filter", "first content chunk", "tool call",
                 "reasoning", "cached", "whatever model was asked for"):  # fmt: skip
        assert kind in out, kind


def test_scenarios_from_the_command_line(tmp_path: Path) -> None:
    args = parser().parse_args(["--port", "0", "--default", "tool_calls"])
    with build(args) as srv:
        client = _client(srv)
        # --default: a plain client that sets nothing gets tool calls
        r = client.chat.completions.create(model="gpt-4o", messages=MSG)
        [call] = r.choices[0].message.tool_calls
        assert r.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "lookup_drug_price" and "ibuprofen" in call.function.arguments
        # model name
        r = client.chat.completions.create(model="standin-served_model", messages=MSG)
        assert r.model == "gpt-4o-mini-2024-07-18"
        r = client.chat.completions.create(model="standin-reasoning_cached", messages=MSG)
        assert r.usage.prompt_tokens_details.cached_tokens == 1024
        assert r.usage.completion_tokens_details.reasoning_tokens == 256
        # header
        with pytest.raises(openai.RateLimitError) as err:
            client.chat.completions.create(
                model="gpt-4o", messages=MSG, extra_headers={"x-standin-scenario": "rate_limit"}
            )
        assert err.value.response.headers["retry-after"] == "1"


def test_script_file_adds_scenarios_and_models(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(
        "scenarios:\n"
        "  weather: {tool_calls: [{name: get_weather, arguments: {city: Paris}}]}\n"
        "models:\n"
        "  gpt-4o: {model: gpt-4o-2024-08-06, text: dated}\n",
        encoding="utf-8",
    )
    args = parser().parse_args(["--port", "0", "--script", str(script)])
    with build(args) as srv:
        client = _client(srv)
        r = client.chat.completions.create(model="standin-weather", messages=MSG)
        assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
        r = client.chat.completions.create(model="gpt-4o", messages=MSG)
        assert (r.model, r.choices[0].message.content) == ("gpt-4o-2024-08-06", "dated")


@pytest.mark.parametrize(
    ("argv", "text", "says"),
    [
        (
            ["--default", "tool_call"],
            "",
            "--default tool_call: no such scenario (did you mean 'tool_calls'?)",
        ),
        (["--deployment", "chat"], "", "--deployment chat: expected NAME=MODEL"),
        (
            ["--script", "{s}"],
            "scenarios:\n  x: {stauts: 429}\n",
            "scenarios.x.stauts: not a field (did you mean 'status'?)",
        ),
        (["--script", "{s}"], "nope: 1\n", "expected a mapping with scenarios, default, models"),
    ],
)
def test_mistakes_are_one_line(tmp_path: Path, capsys, argv, text, says) -> None:
    script = tmp_path / "s.yaml"
    script.write_text(text, encoding="utf-8")
    argv = [a.replace("{s}", str(script)) for a in argv]
    assert main(["--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err, err


def test_starts_as_documented() -> None:
    """``python -m llm_insights_kit.fake_openai`` prints where it listens and serves a tool call
    picked by the header, then stops on Ctrl-C."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "llm_insights_kit.fake_openai", "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"OpenAI base_url (http://127\.0\.0\.1:\d+/v1)", line)
        assert url, line + (proc.stderr.read() if proc.stderr else "")
        client = openai.OpenAI(base_url=url.group(1), api_key="x", max_retries=0)
        r = client.chat.completions.create(
            model="gpt-4o", messages=MSG, extra_headers={"x-standin-scenario": "tool_calls"}
        )
        assert r.choices[0].message.tool_calls
    finally:
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 0


def test_tool_calls_on_the_responses_api() -> None:
    args = parser().parse_args(["--port", "0"])
    with build(args) as srv:
        r = _client(srv).responses.create(model="standin-tool_calls", input="how much?")
        [call] = [item for item in r.output if item.type == "function_call"]
        assert call.name == "lookup_drug_price" and json.loads(call.arguments) == {
            "drug": "ibuprofen"
        }


def test_the_docs_list_every_scenario_as_help_does() -> None:
    doc = (ROOT / "docs" / "fake-openai.md").read_text(encoding="utf-8")
    for name, text in SCENARIO_HELP.items():
        assert f"| `{name}` | {text} |" in doc, name
