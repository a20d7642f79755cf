"""Unknown models and malformed price files: unknown is never zero and never a guess. (Malformed
responses through the real openai client are in ``tests/sdk/test_robustness.py``, the SDK's one
home of "never raises"; the dimension cap in ``tests/sdk/test_dimensions.py``.)"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from llm_insights import contract as c

from .conftest import MESSAGES, client_answering, completion


def _span(pipeline) -> Any:
    spans = pipeline.spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def test_unknown_model_is_counted_unpriced_not_zero_cost(pipeline) -> None:
    client_answering(completion(model="acme-llm-9")).chat.completions.create(
        model="acme-llm-9", messages=MESSAGES
    )
    a = _span(pipeline).attributes
    assert a[c.ATTR_UNPRICED] is True
    assert c.MS_COST_INPUT not in a and c.MS_COST_OUTPUT not in a
    points = pipeline.all_points()
    assert sum(p.value for p in points[c.UNPRICED_CALLS.name]) == 1
    assert c.COST.name not in points


# -- price tables: a logged degradation naming the file and field; shipped prices kept ---------
PRICE_CASES: dict[str, tuple[bytes, str]] = {
    "not-json": (b"{models: nope", "unreadable"),
    "not-utf8": (b'{"models": {"x": {"input": 1}}, "note": "\xff"}', "unreadable"),
    "negative-price": (b'{"models": {"gpt-x": {"input": -1, "output": 2}}}', "models.gpt-x"),
    "string-price": (b'{"models": {"gpt-x": {"input": "0.01"}}}', "models.gpt-x"),
    "nan-price": (b'{"models": {"gpt-x": {"input": NaN}}}', "models.gpt-x"),
    "missing-input": (b'{"models": {"gpt-x": {"output": 0.01}}}', "models.gpt-x"),
    "models-not-mapping": (b'{"models": [1, 2]}', "models"),
}


@pytest.mark.parametrize("case", sorted(PRICE_CASES))
def test_bad_price_file_is_named_and_shipped_prices_kept(
    case: str, tmp_path: Path, monkeypatch, caplog
) -> None:
    from llm_insights import _price_table

    content, fragment = PRICE_CASES[case]
    path = tmp_path / "prices.json"
    path.write_bytes(content)
    monkeypatch.setenv(c.ENV_PRICES_FILE, str(path))
    caplog.set_level(logging.WARNING, logger="llm_insights")
    table = _price_table.load()
    assert str(path) in caplog.text, caplog.text
    assert fragment in caplog.text, caplog.text
    assert table.resolve("gpt-4o") is not None  # the shipped table still prices known models
    assert table.resolve("gpt-x") is None


def test_missing_price_file_is_named(tmp_path: Path, monkeypatch, caplog) -> None:
    from llm_insights import _price_table

    missing = tmp_path / "nope.json"
    monkeypatch.setenv(c.ENV_PRICES_FILE, str(missing))
    caplog.set_level(logging.WARNING, logger="llm_insights")
    assert _price_table.load().resolve("gpt-4o") is not None
    assert str(missing) in caplog.text
