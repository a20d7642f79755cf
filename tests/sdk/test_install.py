"""The SDK installs on its own: no Pulumi, no kit imports, the price table packaged."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / "sdk"
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


@pytest.fixture(scope="module")
def sdk_wheel(tmp_path_factory, package_index) -> Path:
    """The SDK built from a copy, so setuptools' in-tree build files never land in sdk/; the
    isolated build fetches its backend (setuptools) from the index."""
    work = tmp_path_factory.mktemp("sdk-wheel")
    source = shutil.copytree(
        SDK, work / "sdk", ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(source)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [wheel] = work.glob("llm_insights-*.whl")
    return wheel


@pytest.mark.slow
@pytest.mark.index
def test_wheel_builds_and_contains_price_table(sdk_wheel):
    names = zipfile.ZipFile(sdk_wheel).namelist()
    assert "llm_insights/_prices.json" in names and "llm_insights/contract.py" in names
    assert "llm_insights/py.typed" in names


@pytest.mark.slow
@pytest.mark.index
def test_sdk_installs_alone_in_a_fresh_venv(sdk_wheel, tmp_path):
    """What an app does: ``pip install`` the SDK into its own environment — no Pulumi, no kit —
    and ``configure()`` + ``instrument_openai()`` work there."""
    venv = tmp_path / "app-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "-c", str(REPO / "requirements.lock"), f"{sdk_wheel}[openai]"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    script = (
        "import importlib.util, llm_insights\n"
        "assert importlib.util.find_spec('pulumi') is None\n"
        "assert importlib.util.find_spec('llm_insights_kit') is None\n"
        "llm_insights.configure(service_name='app')\n"
        "assert llm_insights.instrument_openai()\n"
        "llm_insights.shutdown()\n"
        "print('ok')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stderr[-3000:]
