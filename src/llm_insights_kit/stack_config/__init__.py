"""A stack file (``Pulumi.<stack>.yaml``): its schema, reader, checks and files, shared by the
Pulumi program and the kit's commands.

``Pulumi.<stack>.yaml`` is read by ``pulumi up`` (``infra/llm_insights_infra/config.py``) and by
``llm-insights render | lint | alerts test | preview | demo``; all of them validate it here, so a
key or value the deployment would reject is rejected by every command with the same message, e.g.
``Pulumi.prod.yaml: llm-insights:workspace.retentionInDays = 3: must be 30..730``.

- ``schema``: every key once (``KEYS``: type, description, default) and the validated settings
  (``StackSettings``, generic in how a secret is held: ``str`` here, ``pulumi.Output[str]`` in
  the program), plus the telemetry settings a stack gives its app.
- ``reader``: the engine's view of a stack file and typed reads of one key.
- ``checks``: ``validate``, every value check (unknown keys in ``llm-insights:`` are errors;
  secrets must be secrets and are never echoed).
- ``files``: finding and reading stack files; ``render_context``, the one way to a stack's
  ``RenderContext``.

No Pulumi import: the program adds only what needs the engine (reading its config, wrapping
secrets as ``Output.secret``, requiring the region and the receivers' secrets, rendering
artifacts). The daily budget has one form, the flat key ``llm-insights:dashboards.dailyBudgetUsd``.
"""
