"""The one error type the kit's tools raise for bad input: it names where and what is allowed."""

from __future__ import annotations


class KitError(Exception):
    """Bad input to the kit (config, YAML, template, KQL...).

    The message is complete and user-facing:
    ``<file>: <key or field> = <value>: <what is allowed>``.
    The CLI prints it without a traceback and exits 2.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")
