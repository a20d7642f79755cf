"""An in-process evaluator: are the prices an answer states real formulary prices?

A domain check that catches a common RAG failure — the model inventing a number — without an
LLM judge. Registered with ``llm_insights.register_evaluator``, it runs off the request path on
every completion; its score (1 = every stated price exists, 0 = none does) feeds the evaluation
panels, and answers that state no price are not scored.
"""

from __future__ import annotations

import llm_insights

from .tools import FORMULARY, price_mentions

EVALUATION_NAME = "price_accuracy"
_KNOWN_PRICES = frozenset(round(price, 2) for _form, _pack, price, _generic in FORMULARY.values())


def price_accuracy(sample: llm_insights.EvaluationInput) -> llm_insights.Evaluation | None:
    prices = price_mentions(sample.text)
    if not prices:
        return None
    known = sum(1 for p in prices if round(p, 2) in _KNOWN_PRICES)
    score = known / len(prices)
    label = "accurate" if score == 1 else "inaccurate"
    return llm_insights.Evaluation(EVALUATION_NAME, score, label)
