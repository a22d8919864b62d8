"""The rule registry: one small class per rule, one module per rule."""

from __future__ import annotations

from mlflow_lint.rule import Rule
from mlflow_lint.rules.metric_in_loop import MetricInLoop

ALL_RULES: tuple[type[Rule], ...] = (MetricInLoop,)
RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}
RULES_BY_NAME: dict[str, type[Rule]] = {rule.name: rule for rule in ALL_RULES}


def lookup(code_or_name: str) -> type[Rule] | None:
    return RULES_BY_CODE.get(code_or_name.upper()) or RULES_BY_NAME.get(code_or_name)
