"""Run-lifecycle helpers shared by the MLF3xx rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from mlflow_lint import mlflow_api as api
from mlflow_lint.context import FileContext, iter_children

SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def is_fluent(ctx: FileContext, call: cst.CSTNode, *names: str) -> bool:
    if not isinstance(call, cst.Call):
        return False
    found = ctx.api_call(call)
    return found is not None and not found.is_client and found.name in names


def start_run_call(ctx: FileContext, with_node: cst.With) -> Optional[cst.Call]:
    """The `mlflow.start_run(...)` a `with` statement enters, if any."""
    for item in with_node.items:
        if is_fluent(ctx, item.item, api.START_RUN):
            assert isinstance(item.item, cst.Call)
            return item.item
    return None


def has_keyword(call: cst.Call, name: str, value: Optional[str] = None) -> bool:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return value is None or (isinstance(arg.value, cst.Name) and arg.value.value == value)
    return False


def calls_in(node: cst.CSTNode, enter_scopes: bool = False) -> Iterator[cst.Call]:
    """Calls under `node`, in no particular order; nested defs/lambdas/classes are skipped."""
    todo: list[cst.CSTNode] = [node]
    while todo:
        current = todo.pop()
        if not enter_scopes and current is not node and isinstance(current, SCOPES):
            continue
        if isinstance(current, cst.Call):
            yield current
        todo.extend(iter_children(current))


def inside_active_run(ctx: FileContext) -> bool:
    """Whether the walk is inside `with mlflow.start_run()` (same function)."""
    for node in reversed(ctx.ancestors):
        if isinstance(node, SCOPES):
            return False
        if isinstance(node, cst.With) and start_run_call(ctx, node) is not None:
            return True
    return False
