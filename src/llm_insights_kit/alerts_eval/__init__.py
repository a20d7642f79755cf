"""Alert rules tested like code: evaluate scheduled-query rules on the local store and run YAML
rule unit tests (synthetic telemetry + expected alerts), in the spirit of ``promtool test rules``.
"""

from .evaluator import Evaluation, QueryStore, RuleEvaluator, evaluate

__all__ = ["Evaluation", "QueryStore", "RuleEvaluator", "evaluate"]
