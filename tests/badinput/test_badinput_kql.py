"""Broken KQL in alert rules: ``llm-insights lint`` (Kusto language service) names the rule file,
the rule and the problem for each, and exits 1; one lint run checks them all (Node starts once)."""

from __future__ import annotations

import pytest
import yaml

from llm_insights_kit import cli
from llm_insights_kit.kql import service

from .test_badinput_kit import ERRORS_RULES

pytestmark = pytest.mark.kql


@pytest.fixture(autouse=True, scope="module")
def _kusto_required() -> None:
    """Fail, never skip, without Node/Kusto (as tests/dashboards does): CI must run this check."""
    if not service.available():
        pytest.fail("node or @kusto/language-service-next missing: run `make setup`")


# rule index in errors.yaml -> (broken query, fragment the diagnostic must contain)
BROKEN = {
    "syntax": ("customMetrics | whre name == 'x' | project value", "whre"),
    "unknown-column": ("customMetrics | where nocolumn > 1 | project value", "nocolumn"),
    "unknown-table": ("customMetricz | project value", "customMetricz"),
}


@pytest.fixture(scope="module")
def lint_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, str]]:
    d = tmp_path_factory.mktemp("kql") / "rules"
    d.mkdir()
    data = yaml.safe_load(ERRORS_RULES.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for i, (case, (query, _)) in enumerate(sorted(BROKEN.items())):
        rule = data["rules"][i]
        rule["query"] = query
        rule.pop("dimensions", None)
        rule["metricMeasureColumn"] = "value"
        names[case] = rule["name"]
    (d / "errors.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    import contextlib
    import io

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = cli.main(["lint", "--rules-dir", str(d)])
    return code, err.getvalue() + out.getvalue(), names


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_kql_is_named(case: str, lint_output) -> None:
    code, text, names = lint_output
    assert code == 1, text
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if names[case] in line]
    assert lines, f"rule {names[case]} not named:\n{text}"
    assert any(BROKEN[case][1] in line for line in lines), "\n".join(lines)
    assert all("errors.yaml" in line for line in lines), "\n".join(lines)
