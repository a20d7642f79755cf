"""The SDK installs on its own: no Pulumi, no kit imports, the price table packaged."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[2] / "sdk"
FORBIDDEN = ("pulumi", "llm_insights_kit", "duckdb", "jinja2", "yaml")


def test_sdk_dependencies_exclude_the_kit():
    import tomllib

    project = tomllib.loads((SDK / "pyproject.toml").read_text())["project"]
    deps = " ".join(project["dependencies"]).lower()
    assert "pulumi" not in deps and "llm-insights-kit" not in deps
    assert project["requires-python"] == ">=3.9"


def test_sdk_source_imports_nothing_from_the_kit_and_parses_as_python39():
    for path in (SDK / "src" / "llm_insights").glob("*.py"):
        tree = ast.parse(path.read_text(), feature_version=(3, 9))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


@pytest.mark.slow
def test_wheel_builds_and_contains_price_table(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(SDK)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [wheel] = tmp_path.glob("llm_insights-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "llm_insights/_prices.json" in names and "llm_insights/contract.py" in names
    assert "llm_insights/py.typed" in names
