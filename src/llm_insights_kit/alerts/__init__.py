"""Scheduled-query alert rules from ``alerts/*.yaml``: load, render KQL, override, validate.

``load_rules(ctx, rules_dir=None)`` → validated ``AlertRuleSpec`` list sorted by name. Bad input
raises ``KitError`` naming file, rule, field, value and what is allowed.
"""

from .loader import load_rules, parse_rule, read_rule_file, rule_files

__all__ = ["load_rules", "parse_rule", "read_rule_file", "rule_files"]
