"""Workbook lint: each rule in the table catches its problem."""

from __future__ import annotations

import copy
import json

import pytest

from llm_insights_kit.dashboards.lint import MAX_QUERIES, RULES, lint_workbook


@pytest.fixture(scope="module")
def overview(golden_workbooks):
    return json.loads(next(w for w in golden_workbooks if w.key == "llm-overview").serialized_data)


def _first_query(nb):
    for item in nb["items"]:
        if item["type"] == 12:
            return item["content"]["items"][0]
    raise AssertionError("no group")


def _ids(nb) -> set[str]:
    return {p.rule for p in lint_workbook("wb", json.dumps(nb))}


def test_rendered_workbook_is_clean(overview):
    assert _ids(overview) == set()


def test_invalid_json_is_wb001():
    (problem,) = lint_workbook("wb", "{not json")
    assert problem.rule == "WB001" and "not valid JSON" in str(problem)


def _version(nb):
    nb["version"] = "Notebook/0.9"


def _unnamed(nb):
    del _first_query(nb)["name"]


def _duplicate(nb):
    nb["items"][0]["name"] = "parameters"


def _too_many(nb):
    group = next(i for i in nb["items"] if i["type"] == 12)
    group["content"]["items"] += [
        dict(copy.deepcopy(_first_query(nb)), name=f"extra-{i}") for i in range(MAX_QUERIES)
    ]


def _too_long(nb):
    _first_query(nb)["content"]["query"] += "\n| where 1 == 1" * 300


def _unlabelled(nb):
    params = next(i for i in nb["items"] if i["type"] == 9)["content"]["parameters"]
    params[2]["label"] = ""


def _subscription(nb):
    nb["items"][0]["content"]["json"] += (
        " [x](https://portal.azure.com/#resource/subscriptions/"
        "0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg)"
    )


def _settings(nb):
    _first_query(nb)["content"]["queryType"] = 1


def _no_source(nb):
    _first_query(nb)["content"]["noDataMessage"] = "No data."


def _undeclared(nb):
    _first_query(nb)["content"]["query"] += " | where x == '{Tenant}'"


def _params(nb):
    return next(i for i in nb["items"] if i["type"] == 9)["content"]["parameters"]


def _unscoped_panel(nb):
    del _first_query(nb)["content"]["crossComponentResources"]


def _unscoped_dropdown(nb):
    next(p for p in _params(nb) if p["type"] == 2)["crossComponentResources"] = []


def _no_resource_param(nb):
    params = _params(nb)
    params[:] = [p for p in params if p["name"] != "Resource"]


def _resource_not_own(nb):
    next(p for p in _params(nb) if p["name"] == "Resource")["value"] = "value::all"


def _unused_dropdown(nb):
    _params(nb).append(
        dict(copy.deepcopy(next(p for p in _params(nb) if p["type"] == 2)), name="Region")
    )


@pytest.mark.parametrize(
    ("rule", "breaks"),
    [
        ("WB002", _version),
        ("WB003", _unnamed),
        ("WB003", _duplicate),
        ("WB004", _too_many),
        ("WB005", _too_long),
        ("WB006", _unlabelled),
        ("WB007", _subscription),
        ("WB008", _settings),
        ("WB009", _no_source),
        ("WB010", _undeclared),
        ("WB011", _unscoped_panel),
        ("WB011", _unscoped_dropdown),
        ("WB011", _no_resource_param),
        ("WB011", _resource_not_own),
        ("WB012", _unused_dropdown),
    ],
)
def test_each_rule_catches_its_problem(overview, rule, breaks):
    nb = copy.deepcopy(overview)
    breaks(nb)
    assert rule in _ids(nb)


def test_every_rule_is_tested():
    tested = {f"WB{n:03}" for n in range(2, 13)}
    assert set(RULES) == tested
