"""In-process quality heuristics: refusals, hallucination markers, and their fast gate."""

from __future__ import annotations

import llm_insights
import pytest
from llm_insights import _quality
from llm_insights import contract as c

REFUSALS = [
    "I'm sorry, but I can't help with that request.",
    "I\u2019m sorry, but I can\u2019t share that.",  # typographic apostrophes
    "I cannot help with that.",
    "I am not able to provide medical advice.",
    "As an AI language model, I cannot diagnose you.",
    "I must decline to answer.",
    "I won\u2019t assist with this.",
]
MARKERS = [
    "As of my last knowledge update, the price was $3.",
    "I don't have access to real-time data, but ...",
    "A trial (Smith et al., 2019) showed this.",
    "I'm not entirely sure, but it may help.",
    "I believe about 42% of patients respond.",
]
CLEAN = [
    "Take 200 mg every 4 to 6 hours, with food.",
    "Ibuprofen is an NSAID. Ask your pharmacist about interactions.",
    "",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_refusals(text):
    q = _quality.assess(text)
    assert q.refusal and q.length == len(text)


@pytest.mark.parametrize("text", MARKERS)
def test_hallucination_markers(text):
    assert _quality.assess(text).hallucination_marker


@pytest.mark.parametrize("text", CLEAN)
def test_clean_answers(text):
    q = _quality.assess(text)
    assert not q.refusal and not q.hallucination_marker


def test_gate_never_hides_a_default_match():
    """Whatever the full default regexes match, the keyword gate lets through."""
    custom = _quality.compile_patterns([r"\bmg\b"], ())
    texts = REFUSALS + MARKERS + CLEAN
    for text in (
        texts
        + [t.upper() for t in texts]
        + [f"{r} {m}" for r, m in zip(REFUSALS, MARKERS, strict=False)]
    ):
        full_r = bool(_quality._DEFAULT_REFUSAL.search(text))
        full_h = bool(_quality._DEFAULT_HALLUCINATION.search(text))
        mine = bool(custom.search(text))
        q = _quality.assess(text)
        assert (q.refusal, q.hallucination_marker) == (full_r, full_h), text
        # one set replaced: the other keeps its gate, the replaced one is always searched
        q = _quality.assess(text, None, custom)
        assert (q.refusal, q.hallucination_marker) == (full_r, mine), text
        q = _quality.assess(text, custom, None)
        assert (q.refusal, q.hallucination_marker) == (mine, full_h), text


def test_custom_patterns(telemetry):
    llm_insights.configure("svc", refusal_patterns=[r"\bnope\b"], hallucination_patterns=[])
    for text in ("Nope.", "I'm sorry, but I can't.", "As of my last update"):
        with llm_insights.llm_call(provider="openai", model="gpt-4o") as call:
            call.record_completion(text)
    assert telemetry.total(c.REFUSALS.name) == 1
    assert telemetry.points(c.HALLUCINATION_MARKERS.name) == []
    assert telemetry.total(c.RESPONSE_LENGTH_BUCKET_COUNTS.name) == 3
