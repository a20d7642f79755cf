"""Helpers shared by several test areas (importable as ``support.*``: ``tests/`` is on sys.path)."""
