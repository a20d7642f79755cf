"""Benchmarks: what llm_insights costs on the hot path, next to the instrumentations users know.

``make bench`` (``python -m bench``) measures, each configuration in its own processes (the
instrumentations patch the openai client globally), and writes ``bench/RESULTS.md``. Benchmarks
are not tests: nothing here fails a build; targets are reported as met or missed.
"""
