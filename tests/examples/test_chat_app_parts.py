"""The sample app's parts that need no LLM: retriever ranking, the tool, settings validation,
and its pinned requirements agreeing with the repo lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from app.evaluators import price_accuracy
from app.retriever import KNOWLEDGE_BASE, Document, InMemoryRetriever
from app.settings import SettingsError, load_settings
from app.tools import (
    FORMULARY,
    UnknownDrugError,
    drugs_to_price,
    lookup_drug_price,
    mentioned_drugs,
    price_mentions,
)
from llm_insights import EvaluationInput
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
CHAT_APP = ROOT / "examples" / "chat-app"


def test_retriever_ranks_the_matching_document_first_with_scores_in_unit_range() -> None:
    hits = InMemoryRetriever(KNOWLEDGE_BASE).search("how do I store an opened insulin pen?")
    assert hits[0].document.id == "kb-6"
    assert all(0 < h.score <= 1 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_retriever_returns_nothing_for_an_unrelated_query() -> None:
    assert InMemoryRetriever(KNOWLEDGE_BASE).search("quantum chromodynamics lattice") == []


def test_retriever_identical_text_scores_one_and_respects_k() -> None:
    docs = [Document(f"d{i}", "refill prescription", "") for i in range(5)]
    hits = InMemoryRetriever(docs).search("refill prescription", k=2)
    assert [h.document.id for h in hits] == ["d0", "d1"]
    assert hits[0].score == pytest.approx(1.0)


def test_tool_finds_named_drugs_and_prices_them() -> None:
    assert mentioned_drugs("Is METFORMIN cheaper than lisinopril?") == ["lisinopril", "metformin"]
    assert mentioned_drugs("metformins") == []
    assert lookup_drug_price(" Metformin ")["price_usd"] == FORMULARY["metformin"][2]
    with pytest.raises(UnknownDrugError, match="not in the formulary"):
        lookup_drug_price("unobtainium")


def test_price_questions_look_up_unknown_drugs_too() -> None:
    assert drugs_to_price("How much is ozempic before insurance?") == ["ozempic"]
    assert drugs_to_price("What is the price of metformin?") == ["metformin"]
    assert drugs_to_price("Is sertraline cheaper than omeprazole?") == ["omeprazole", "sertraline"]
    assert drugs_to_price("How long does delivery take?") == []


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("Metformin costs 6.90 USD for 60 tablets.", 1.0),
        ("Atorvastatin costs $21.00.", 0.0),
        ("Metformin is 6.90 USD, atorvastatin 21 dollars.", 0.5),
        ("Ask your pharmacist.", None),
    ],
)
def test_price_accuracy_scores_stated_prices_against_the_formulary(
    text: str, score: float | None
) -> None:
    result = price_accuracy(EvaluationInput("r1", "gpt-4o-mini", text))
    if score is None:
        assert result is None
    else:
        assert result is not None and result.score == score
        assert result.label == ("accurate" if score == 1 else "inaccurate")
    assert price_mentions("costs $6.90 or 7 USD") == [6.9, 7.0]


def test_settings_choose_azure_when_its_endpoint_is_set() -> None:
    s = load_settings(
        {
            "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com",
            "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
            "AZURE_OPENAI_API_KEY": "k",
            "CHAT_ALLOWED_MODELS": "gpt-4o, gpt-4o-mini",
        }
    )
    assert (s.provider, s.model, s.allowed_models) == ("azure", "gpt-4o", ("gpt-4o", "gpt-4o-mini"))


def test_settings_default_to_openai_compatible() -> None:
    s = load_settings({"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})
    assert (s.provider, s.model, s.openai_base_url) == (
        "openai",
        "gpt-4o-mini",
        "http://127.0.0.1:1/v1",
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "AZURE_OPENAI_ENDPOINT"),
        ({"AZURE_OPENAI_ENDPOINT": "https://x"}, "AZURE_OPENAI_DEPLOYMENT"),
        ({"OPENAI_API_KEY": "k", "OPENAI_MAX_RETRIES": "many"}, "OPENAI_MAX_RETRIES"),
        ({"OPENAI_API_KEY": "k", "CHAT_MAX_TOKENS": "0"}, "CHAT_MAX_TOKENS"),
    ],
)
def test_settings_errors_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        load_settings(env)


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_requirements_are_pinned_to_the_repo_lock() -> None:
    app_pins = _pins(CHAT_APP / "requirements.txt")
    lock = _pins(ROOT / "requirements.lock")
    assert {"fastapi", "uvicorn", "openai", "azure-monitor-opentelemetry"} <= app_pins.keys()
    assert all(v for v in app_pins.values()), "every requirement must be pinned with =="
    assert {n: v for n, v in app_pins.items() if lock.get(n) != v} == {}


def test_dockerfile_installs_the_sdk_from_the_repo_root_context() -> None:
    dockerfile = (CHAT_APP / "Dockerfile").read_text()
    assert "COPY sdk " in dockerfile and "COPY examples/chat-app/app " in dockerfile
    ignore = (CHAT_APP / "Dockerfile.dockerignore").read_text()
    assert "!sdk/src/llm_insights/**" in ignore
