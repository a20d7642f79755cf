"""The Service parameter: Microsoft's Foundry-dashboard pattern, on every workbook, narrowing
every panel to the selected services."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from llm_insights_kit.dashboards import bind_parameters, iter_queries
from llm_insights_kit.local.store import LocalStore

from . import telemetry
from .conftest import NOW, RANGE

OTHER = "triage-agent"


def _params(wb) -> list[dict[str, Any]]:
    nb = json.loads(wb.serialized_data)
    return next(i for i in nb["items"] if i["type"] == 9)["content"]["parameters"]


def test_every_workbook_offers_a_service_multiselect_over_cloud_role_name(golden_workbooks):
    for wb in golden_workbooks:
        service = next(p for p in _params(wb) if p["name"] == "Service")
        assert service["type"] == 2 and service["multiSelect"] is True, wb.key
        assert (service["quote"], service["delimiter"]) == ("'", ",")
        assert service["value"] == ["value::all"]
        assert service["typeSettings"]["additionalResourceOptions"] == ["value::all"]
        assert service["typeSettings"]["selectAllValue"] == "*"
        assert service["crossComponentResources"] == ["{Resource}"]  # the workbook's resource
        assert "by item = cloud_RoleName" in service["query"]
        # the Service dropdown comes first after the time range and the resource
        assert [p["name"] for p in _params(wb)][:3] == ["TimeRange", "Resource", "Service"]


def test_every_panel_reads_the_service_filter(golden_workbooks):
    for wb in golden_workbooks:
        for q in iter_queries(wb.serialized_data, wb.key):
            if q.kind == "panel":
                assert "'*' in ({Service}) or cloud_RoleName in ({Service})" in q.query, q.step


def _rows(store, query: str, selections=None) -> list[str]:
    bound = bind_parameters(query, RANGE, selections)
    return sorted(
        json.dumps(r, sort_keys=True, default=str) for r in store.query(bound, now=NOW).to_dicts()
    )


@pytest.mark.slow  # every panel three times
def test_filtered_to_one_service_every_panel_shows_that_service_alone(golden_workbooks):
    """Two services with different traffic in one store: each panel filtered to chat-api gives
    exactly what it gives on a store holding chat-api alone; unfiltered it differs."""
    mine = [NOW - timedelta(hours=h, minutes=30) for h in (0, 3, 20)]
    theirs = [NOW - timedelta(hours=h, minutes=10) for h in (1, 2, 3, 5)]
    with LocalStore(":memory:") as alone, LocalStore(":memory:") as shared:
        telemetry.populate(alone, mine)
        telemetry.populate(shared, mine)
        telemetry.populate(shared, theirs, service=OTHER)
        differs = []
        for wb in golden_workbooks:
            for q in iter_queries(wb.serialized_data, wb.key):
                if q.kind != "panel":
                    continue
                label = f"{wb.key}/{q.step}"
                expected = _rows(alone, q.query)
                assert _rows(shared, q.query, {"Service": telemetry.SERVICE}) == expected, label
                if _rows(shared, q.query) != expected:
                    differs.append(label)
        # unfiltered, the other service shows: every panel that aggregates over time does
        assert len(differs) > 40, differs


def test_by_service_panels_list_each_service(golden_workbooks, store):
    telemetry.populate(store, [NOW - timedelta(hours=1)])
    telemetry.populate(store, [NOW - timedelta(hours=2), NOW - timedelta(hours=3)], service=OTHER)
    panels = {
        (wb.key, q.step): q
        for wb in golden_workbooks
        for q in iter_queries(wb.serialized_data, wb.key)
    }
    overview = {
        r["service"]: r
        for r in store.query(
            bind_parameters(panels["llm-overview", "by-service"].query, RANGE), now=NOW
        ).to_dicts()
    }
    assert set(overview) == {telemetry.SERVICE, OTHER}
    assert overview[OTHER]["calls"] == 2 * overview[telemetry.SERVICE]["calls"] > 0
    cost = {
        r["service"]: r["cost_usd"]
        for r in store.query(
            bind_parameters(panels["llm-tokens-cost", "by-service"].query, RANGE), now=NOW
        ).to_dicts()
    }
    assert cost[OTHER] == pytest.approx(2 * cost[telemetry.SERVICE]) and cost[OTHER] > 0
    agents = {
        r["service"]: r["runs"]
        for r in store.query(
            bind_parameters(panels["llm-agents", "runs-by-service"].query, RANGE), now=NOW
        ).to_dicts()
    }
    assert agents == {
        telemetry.SERVICE: agents[telemetry.SERVICE],
        OTHER: 2 * agents[telemetry.SERVICE],
    }
    filtered = store.query(
        bind_parameters(panels["llm-overview", "by-service"].query, RANGE, {"Service": OTHER}),
        now=NOW,
    ).to_dicts()
    assert [r["service"] for r in filtered] == [OTHER]


def test_today_by_service_reads_each_services_budget(store):
    from llm_insights_kit.artifacts import RenderContext
    from llm_insights_kit.dashboards import render_workbook

    ctx = RenderContext(daily_budget_usd=100.0, service_budgets={telemetry.SERVICE: 2.0})
    wb = render_workbook("llm-tokens-cost", ctx)
    (q,) = [q for q in iter_queries(wb.serialized_data, wb.key) if q.step == "today-by-service"]
    start = NOW.replace(hour=0, minute=0)
    telemetry.populate(store, [start + timedelta(hours=1)])
    telemetry.populate(store, [start + timedelta(hours=2)], service=OTHER)
    day = (NOW - timedelta(days=1), NOW)
    got = {r["service"]: r for r in store.query(bind_parameters(q.query, day), now=NOW).to_dicts()}
    mine, theirs = got[telemetry.SERVICE], got[OTHER]
    assert mine["cost_today_usd"] == theirs["cost_today_usd"] > 0
    assert mine["budget_usd"] == 2.0 and theirs["budget_usd"] is None
    # 12 h into the day: the day projects to twice today so far
    assert mine["projected_day_usd"] == pytest.approx(2 * mine["cost_today_usd"])
    assert mine["projected_burn"] == pytest.approx(round(mine["projected_day_usd"] / 2.0, 3))
    assert theirs["projected_burn"] is None
    assert f"`{telemetry.SERVICE}` **2.0 USD**" in wb.serialized_data
