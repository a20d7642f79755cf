"""The versioned price table: resolution, overrides, cached input, unpriced."""

from __future__ import annotations

import json

import pytest
from llm_insights import _cost, _price_table
from llm_insights import contract as c


def test_shipped_file_records_its_source():
    data = json.loads(
        (__import__("pathlib").Path(_price_table.__file__).parent / "_prices.json").read_text()
    )
    assert data["source"]["name"] == "genai-prices" and data["source"]["version"]
    assert data["unit"] == "per 1M tokens" and data["currency"] == "USD"
    table = _price_table.shipped()
    assert table.source == f"genai-prices {data['source']['version']}"
    assert table.resolve("gpt-4o").input == 0.0025  # $2.50 per 1M


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("GPT-4o-mini", "gpt-4o-mini"),
        ("gpt-35-turbo", "gpt-3.5-turbo"),  # Azure's name
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai/gpt-4.1", "gpt-4.1"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),  # a dated version by the source's pattern
    ],
)
def test_resolution(model, expected):
    table = _price_table.shipped()
    assert table.find(model).id == expected
    assert table.resolve(model) == table.resolve(expected)


def test_a_snapshot_priced_apart_keeps_its_own_price():
    # OpenAI bills gpt-4o-2024-05-13 at $5/$15, not gpt-4o's $2.50/$10: no family guess
    table = _price_table.shipped()
    assert table.resolve("gpt-4o-2024-05-13") == _price_table.Price(0.005, 0.015)


@pytest.mark.parametrize("model", ["my-deployment", "", None, 42, "gpt-4o-turbo-ultra"])
def test_unknown_models_are_unpriced(model):
    assert _price_table.shipped().resolve(model) is None


def test_cached_input_priced_separately():
    price = _price_table.Price(input=0.002, output=0.008, cached_input=0.0005)
    cost, missing = _cost.compute(price, _cost.Usage(1000, 500, cache_read_input_tokens=400))
    assert cost.input == pytest.approx((600 * 0.002 + 400 * 0.0005) / 1000)
    assert cost.output == pytest.approx(0.004) and missing == []
    nocache, _ = _cost.compute(
        _price_table.Price(input=0.002, output=0.008),
        _cost.Usage(1000, 0, cache_read_input_tokens=400),
    )
    assert nocache.input == pytest.approx(0.002)  # no cached price: full price


def test_override_by_mapping_and_file(tmp_path, monkeypatch):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"version": "acme-1", "models": {"acme-llm": {"input": 1.0}}}))
    monkeypatch.setenv(c.ENV_PRICES_FILE, str(path))
    table = _price_table.load({"models": {"gpt-4o": {"input": 0.001, "output": 0.002}}})
    assert table.resolve("acme-llm").input == 1.0
    assert table.resolve("gpt-4o") == _price_table.Price(0.001, 0.002, None)
    assert "acme-1" in table.version
    table2 = _price_table.load(str(path))
    assert table2.resolve("acme-llm").input == 1.0


def test_bad_override_entries_are_ignored_with_a_warning(caplog):
    table = _price_table.load(
        {"models": {"a": {"input": -1}, "b": {"output": 1}, "c": {"input": "x"}, "d": {"input": 1}}}
    )
    assert table.resolve("a") is None and table.resolve("b") is None and table.resolve("c") is None
    assert table.resolve("d").input == 1
    assert "models.a" in caplog.text and "non-negative" in caplog.text


def test_unreadable_price_file_is_ignored(tmp_path, caplog):
    table = _price_table.load(tmp_path / "missing.json")
    assert table.resolve("gpt-4o") is not None
    assert "unreadable" in caplog.text


def test_price_file_per_1m_tokens_is_converted(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "unit": "per 1M tokens",
                "currency": "USD",
                "models": {"gpt-4o": {"input": 2.5, "output": 10.0, "cached_input": 1.25}},
            }
        )
    )
    price = _price_table.load(str(path)).resolve("gpt-4o")
    assert price == _price_table.Price(0.0025, 0.01, 0.00125)
    per_1k = _price_table.load({"unit": "Per 1K tokens", "models": {"x": {"input": 0.5}}})
    assert per_1k.resolve("x").input == 0.5


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("unit", {"unit": "per token", "models": {"gpt-4o": {"input": 9.0}}}),
        ("unit", {"unit": 1000, "models": {"gpt-4o": {"input": 9.0}}}),
        ("currency", {"currency": "EUR", "models": {"gpt-4o": {"input": 9.0}}}),
        ("currency", {"unit": "per 1M tokens", "currency": 5, "gpt-4o": {"input": 9.0}}),
    ],
)
def test_price_file_with_unconvertible_unit_or_currency_is_ignored(tmp_path, caplog, field, data):
    from llm_insights import _guard

    path = tmp_path / "contoso.json"
    path.write_text(json.dumps(data))
    before = _guard.error_counts().get(c.SDK_COMPONENT_PRICES_INVALID, 0)
    with caplog.at_level("WARNING", logger="llm_insights"):
        table = _price_table.load(str(path))
    assert table.resolve("gpt-4o") == _price_table.shipped().resolve("gpt-4o")  # file ignored whole
    assert _guard.error_counts()[c.SDK_COMPONENT_PRICES_INVALID] == before + 1
    [msg] = [r.getMessage() for r in caplog.records if "price file" in r.getMessage()]
    assert str(path) in msg and f": {field}: " in msg and "ignored" in msg
    with pytest.raises(_price_table.PriceFileError, match=field):
        _price_table.load(str(path), strict=True)


def test_strict_configure_rejects_unconvertible_price_file(tmp_path, telemetry):
    import llm_insights
    from llm_insights import _config

    path = tmp_path / "eur.json"
    path.write_text(json.dumps({"currency": "EUR", "models": {"gpt-4o": {"input": 2.0}}}))
    try:
        with pytest.raises(llm_insights.ConfigurationError, match=r"eur\.json: currency"):
            llm_insights.configure("svc", prices=str(path), strict=True)
    finally:
        _config._reset_for_tests()
