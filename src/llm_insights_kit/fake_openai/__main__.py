"""``python -m llm_insights_kit.fake_openai``: serve until interrupted."""

from .server import main

raise SystemExit(main())
