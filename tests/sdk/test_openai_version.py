"""The openai compatibility run proves which client it tested: with
``LLM_INSIGHTS_EXPECT_OPENAI=1.109.1`` set, the imported openai must be exactly that version
(an old client put first on ``PYTHONPATH``), not the one installed in the venv."""

from __future__ import annotations

import os

import openai
import pytest

ENV = "LLM_INSIGHTS_EXPECT_OPENAI"


@pytest.mark.openai_compat
def test_imported_openai_is_the_expected_version():
    expected = os.environ.get(ENV)
    if not expected:
        pytest.skip(f"{ENV} not set (only the compatibility run sets it)")
    assert openai.__version__ == expected, (
        f"{ENV}={expected} but openai {openai.__version__} was imported from {openai.__file__}"
    )
