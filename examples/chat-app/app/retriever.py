"""A small in-memory retriever: cosine similarity over term counts, scores in [0, 1].

Real apps use a vector store; this keeps the sample self-contained while still producing what
retrieval telemetry is about — how many documents came back and how relevant the best one was.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "in", "is", "it", "me", "my", "of", "on", "or", "the", "to", "what", "when", "which",
    "who", "why", "with", "you", "your",
))  # fmt: skip


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float


def _terms(text: str) -> Counter[str]:
    return Counter(w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS)


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(count * b[term] for term, count in a.items() if term in b)
    if not dot:
        return 0.0
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm


class InMemoryRetriever:
    """Ranks documents by cosine similarity to the query; drops those under ``min_score``."""

    def __init__(self, documents: Iterable[Document], min_score: float = 0.05) -> None:
        self._docs = [(doc, _terms(f"{doc.title} {doc.text}")) for doc in documents]
        self.min_score = min_score

    def search(self, query: str, k: int = 3) -> list[Hit]:
        q = _terms(query)
        hits = [Hit(doc, round(_cosine(q, terms), 4)) for doc, terms in self._docs]
        hits = [h for h in hits if h.score >= self.min_score]
        hits.sort(key=lambda h: (-h.score, h.document.id))
        return hits[:k]


KNOWLEDGE_BASE: tuple[Document, ...] = (
    Document(
        "kb-1",
        "Prescription refills",
        "Refills can be requested in the app up to 7 days before a prescription runs out. "
        "Controlled medicines need a new prescription from your doctor for every refill.",
    ),
    Document(
        "kb-2",
        "Generic medicines",
        "A generic medicine has the same active ingredient, strength and dose as the brand "
        "medicine and usually costs much less. Ask the pharmacist to substitute a generic.",
    ),
    Document(
        "kb-3",
        "Delivery times",
        "Standard delivery takes two to three working days. Express delivery arrives the next "
        "working day when the order is placed before 2 pm. Cold-chain medicines ship express.",
    ),
    Document(
        "kb-4",
        "Insurance and co-pay",
        "Your insurance plan decides the co-pay per prescription. The price shown is before "
        "insurance; the co-pay is calculated at checkout once your plan is verified.",
    ),
    Document(
        "kb-5",
        "Returns",
        "Medicines cannot be returned once delivered, except when the wrong item or a damaged "
        "package arrived. Report it within 48 hours for a replacement or refund.",
    ),
    Document(
        "kb-6",
        "Storing insulin",
        "Unopened insulin is stored in the fridge between 2 and 8 degrees Celsius. An opened pen "
        "can be kept at room temperature for up to 28 days. Never freeze insulin.",
    ),
)
