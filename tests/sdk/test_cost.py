"""The versioned price table: resolution, overrides, cached input, unpriced."""

from __future__ import annotations

import json

import pytest
from llm_insights import _cost
from llm_insights import contract as c


def test_shipped_table_is_versioned():
    data = json.loads(
        (__import__("pathlib").Path(_cost.__file__).parent / "_prices.json").read_text()
    )
    assert data["version"] and data["updated"] and data["unit"] == "per 1K tokens"
    table = _cost.shipped()
    assert table.version == data["version"]
    assert table.resolve("gpt-4o").input == 0.0025


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("GPT-4o-mini", "gpt-4o-mini"),
        ("gpt-35-turbo", "gpt-3.5-turbo"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai/gpt-4.1", "gpt-4.1"),
    ],
)
def test_resolution(model, expected):
    table = _cost.shipped()
    assert table.resolve(model) == table.models[expected]


@pytest.mark.parametrize("model", ["my-deployment", "", None, 42, "gpt-4o-turbo-ultra"])
def test_unknown_models_are_unpriced(model):
    assert _cost.shipped().resolve(model) is None


def test_cached_input_priced_separately():
    price = _cost.Price(input=0.002, output=0.008, cached_input=0.0005)
    cost = _cost.compute(price, input_tokens=1000, output_tokens=500, cached=400)
    assert cost.input == pytest.approx((600 * 0.002 + 400 * 0.0005) / 1000)
    assert cost.output == pytest.approx(0.004)
    nocache = _cost.compute(_cost.Price(input=0.002, output=0.008), 1000, 0, cached=400)
    assert nocache.input == pytest.approx(0.002)  # no cached price: full price


def test_override_by_mapping_and_file(tmp_path, monkeypatch):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"version": "acme-1", "models": {"acme-llm": {"input": 1.0}}}))
    monkeypatch.setenv(c.ENV_PRICES_FILE, str(path))
    table = _cost.load({"models": {"gpt-4o": {"input": 0.001, "output": 0.002}}})
    assert table.resolve("acme-llm").input == 1.0
    assert table.resolve("gpt-4o") == _cost.Price(0.001, 0.002, None)
    assert "acme-1" in table.version
    table2 = _cost.load(str(path))
    assert table2.resolve("acme-llm").input == 1.0


def test_bad_override_entries_are_ignored_with_a_warning(caplog):
    table = _cost.load(
        {"models": {"a": {"input": -1}, "b": {"output": 1}, "c": {"input": "x"}, "d": {"input": 1}}}
    )
    assert table.resolve("a") is None and table.resolve("b") is None and table.resolve("c") is None
    assert table.resolve("d").input == 1
    assert "models.a" in caplog.text and "non-negative" in caplog.text


def test_unreadable_price_file_is_ignored(tmp_path, caplog):
    table = _cost.load(tmp_path / "missing.json")
    assert table.resolve("gpt-4o") is not None
    assert "unreadable" in caplog.text
