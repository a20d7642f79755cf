"""``python -m llm_insights_kit.fake_openai``: serve until interrupted (``--help``)."""

from .cli import main

raise SystemExit(main())
