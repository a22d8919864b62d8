"""Run-lifecycle helpers shared by the MLF3xx rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Optional

import libcst as cst

from mlflow_lint import mlflow_api as api
from mlflow_lint.context import FileContext, iter_children
from mlflow_lint.names import dotted_name, words

SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)

# A helper "says" it ends the run when its name pairs a verb of ending with a word for the run
# (`end_mlflow_run`, `stop_zenml_mlflow_runs`, `finishRun`, `close_tracking`). Event handlers
# (`on_run_end`, `after_run`) name the moment, not the action: their bodies decide.
_END_VERBS = frozenset(
    {"end", "stop", "finish", "finalize", "finalise", "close", "terminate", "shutdown", "teardown"}
)
# words, not API names: one string, so no constant reads as `mlflow.run` (tests/test_elision.py)
_RUN_WORDS = frozenset("run runs mlflow tracking tracker".split())  # noqa: SIM905
_EVENT_PREFIXES = frozenset({"on", "before", "after", "when", "handle"})
_ENDING_NAMES = frozenset({api.END_RUN, "set_terminated"})
# Framework hook classes: a base whose name ends so is called by a framework inside a run its
# caller owns (Keras, Lightning and transformers callbacks, kedro/mmcv/inspect hooks, loggers).
HOOK_BASE_SUFFIXES = ("Callback", "Callbacks", "Hook", "Hooks", "Logger")


def says_end(identifier: str) -> bool:
    """Whether a function's name says that it ends the run."""
    if identifier.lstrip("_") in _ENDING_NAMES:
        return True
    parts = [part for part in words(identifier) if part]
    if not parts or parts[0] in _EVENT_PREFIXES:
        return False
    return not _END_VERBS.isdisjoint(parts) and not _RUN_WORDS.isdisjoint(parts)


def callee_name(call: cst.Call) -> Optional[str]:
    """The last name of what `call` calls: `stop_run` for `utils.stop_run(...)`."""
    func = call.func
    if type(func) is cst.Name:
        return func.value
    if type(func) is cst.Attribute:
        return func.attr.value
    return None


def is_hook_class(node: Optional[cst.CSTNode]) -> bool:
    """A class deriving from a framework's callback, hook or logger base, or named a callback
    or hook itself: LightGBM and CatBoost take plain objects (`class MlflowCallbackLGBM:`
    with a `__call__(self, env)`), which the framework calls inside its caller's run."""
    if type(node) is not cst.ClassDef:
        return False
    return _HOOK_NAME.search(node.name.value) is not None or any(
        (dotted_name(base.value) or "").rsplit(".", 1)[-1].endswith(HOOK_BASE_SUFFIXES)
        for base in node.bases
    )


# `Callback` or `Hook` as a word of a CamelCase or snake_case class name
_HOOK_NAME = re.compile(r"(Callback|Hook)(?![a-rt-z])")


def is_fluent(ctx: FileContext, call: cst.CSTNode, *names: str) -> bool:
    if type(call) is not cst.Call:
        return False
    found = ctx.api_call(call)
    return found is not None and not found.is_client and found.name in names


def is_client_call(ctx: FileContext, call: cst.CSTNode, *names: str) -> bool:
    if type(call) is not cst.Call:
        return False
    found = ctx.api_call(call)
    return found is not None and found.is_client and found.name in names


def start_run_call(ctx: FileContext, with_node: cst.With) -> Optional[cst.Call]:
    """The `mlflow.start_run(...)` a `with` statement enters, if any."""
    for item in with_node.items:
        if is_fluent(ctx, item.item, api.START_RUN):
            assert type(item.item) is cst.Call
            return item.item
    return None


def has_keyword(call: cst.Call, name: str, value: Optional[str] = None) -> bool:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return value is None or (type(arg.value) is cst.Name and arg.value.value == value)
    return False


def calls_in(node: cst.CSTNode, enter_scopes: bool = False) -> Iterator[cst.Call]:
    """Calls under `node`, in no particular order; nested defs/lambdas/classes are skipped."""
    todo: list[cst.CSTNode] = [node]
    while todo:
        current = todo.pop()
        if not enter_scopes and current is not node and isinstance(current, SCOPES):
            continue
        if type(current) is cst.Call:
            yield current
        todo.extend(iter_children(current))


def inside_active_run(ctx: FileContext) -> bool:
    """Whether the walk is inside `with mlflow.start_run()` (same function)."""
    for node in reversed(ctx.ancestors):
        if isinstance(node, SCOPES):
            return False
        if type(node) is cst.With and start_run_call(ctx, node) is not None:
            return True
    return False


def active_run_names(ctx: FileContext, scope: cst.CSTNode) -> set[str]:
    """Names `scope`'s own code assigns `mlflow.active_run()` to (`run = mlflow.active_run()`)."""
    names: set[str] = set()
    todo: list[cst.CSTNode] = [scope]
    while todo:
        node = todo.pop()
        if node is not scope and isinstance(node, SCOPES):
            continue
        if type(node) is cst.Assign and is_fluent(ctx, node.value, "active_run"):
            names.update(t.target.value for t in node.targets if type(t.target) is cst.Name)
        todo.extend(iter_children(node))
    return names


def tests_active_run(ctx: FileContext, test: cst.BaseExpression, names: set[str]) -> bool:
    """Whether an `if` test reads the active run: `mlflow.active_run() is None`, `not
    active` with `active` one of `names`."""
    if any(is_fluent(ctx, call, "active_run") for call in calls_in(test)):
        return True
    todo: list[cst.CSTNode] = [test]
    while todo:
        node = todo.pop()
        if type(node) is cst.Name and node.value in names:
            return True
        todo.extend(iter_children(node))
    return False


def is_main_guard(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"` (either way round)."""
    if type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return False
    sides = (test.left, test.comparisons[0].comparator)
    return any(type(side) is cst.Name and side.value == "__name__" for side in sides) and any(
        isinstance(side, cst.SimpleString) and side.evaluated_value == "__main__" for side in sides
    )
