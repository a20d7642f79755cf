"""Helpers for rule-validation tests: copy the shipped rules somewhere and break one field."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_insights_kit.paths import ALERTS_DIR


@pytest.fixture()
def rules_copy(tmp_path: Path) -> Path:
    """A writable copy of alerts/*.yaml (fixtures and other files left out)."""
    target = tmp_path / "rules"
    target.mkdir()
    for path in ALERTS_DIR.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    return target


def edit_rule(directory: Path, file: str, rule: str, **fields: Any) -> None:
    """Set (or, with value ``...``, delete) fields of one rule in a copied rule file."""
    path = directory / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    target = next(r for r in data["rules"] if r["name"] == rule)
    for key, value in fields.items():
        if value is ...:
            target.pop(key, None)
        else:
            target[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
