"""The app's one tool: a drug price lookup in a small formulary.

The router calls it when a question names a drug in the formulary, and hands the result to the
model as context; the same function is also offered to the model as an OpenAI tool definition.
"""

from __future__ import annotations

import re
from typing import Any

# name -> (form, pack size, price in USD before insurance, generic available)
FORMULARY: dict[str, tuple[str, int, float, bool]] = {
    "atorvastatin": ("20 mg tablet", 30, 12.40, True),
    "amoxicillin": ("500 mg capsule", 21, 9.80, True),
    "insulin glargine": ("100 units/ml pen", 5, 96.00, False),
    "lisinopril": ("10 mg tablet", 30, 7.15, True),
    "metformin": ("500 mg tablet", 60, 6.90, True),
    "omeprazole": ("20 mg capsule", 28, 11.25, True),
    "sertraline": ("50 mg tablet", 30, 14.60, True),
}

TOOL_NAME = "lookup_drug_price"

TOOL_DEFINITION: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": "Price before insurance, pack size and generic availability of a drug.",
        "parameters": {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "Drug name, e.g. metformin"}},
            "required": ["name"],
        },
    },
}


class UnknownDrugError(LookupError):
    """The drug is not in the formulary."""


_PRICE_QUESTION = re.compile(
    r"\b(?:how much is|how much does|price of|cost of)\s+(?P<name>[a-z][a-z -]{1,40}?)"
    r"(?=\s+(?:cost|before|after|and|with|for)\b|[?.!,]|$)",
    re.IGNORECASE,
)


def mentioned_drugs(text: str) -> list[str]:
    """Formulary drugs named in ``text`` (whole words, case-insensitive), in formulary order."""
    lowered = text.lower()
    return [name for name in FORMULARY if re.search(rf"\b{re.escape(name)}\b", lowered)]


def drugs_to_price(text: str) -> list[str]:
    """What to look up: formulary drugs named in ``text``, plus the subject of a price question
    ("how much is X") even when X is not in the formulary (the lookup then fails, visibly)."""
    names = mentioned_drugs(text)
    for match in _PRICE_QUESTION.finditer(text):
        name = match["name"].strip().lower()
        if not any(name == n or n in name for n in names):
            names.append(name)
    return names


def price_mentions(text: str) -> list[float]:
    """USD amounts an answer states ("6.90 USD", "$6.90")."""
    found = re.findall(r"\$\s?(\d+(?:\.\d{1,2})?)|(\d+(?:\.\d{1,2})?)\s?(?:USD|dollars)\b", text)
    return [float(a or b) for a, b in found]


def lookup_drug_price(name: str) -> dict[str, Any]:
    """The formulary entry for ``name``; raises ``UnknownDrugError`` if there is none."""
    key = name.strip().lower()
    if key not in FORMULARY:
        raise UnknownDrugError(f"{name!r} is not in the formulary")
    form, pack, price, generic = FORMULARY[key]
    return {
        "name": key,
        "form": form,
        "pack_size": pack,
        "price_usd": price,
        "generic_available": generic,
    }
