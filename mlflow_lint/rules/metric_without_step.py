from __future__ import annotations

from typing import Optional

import libcst as cst

from mlflow_lint import fixes, frequency
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import LoopFrame
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rule import NodeEdit, PendingFix, Safety
from mlflow_lint.rules.loop_calls import LoopCallRule


class MetricWithoutStep(LoopCallRule):
    """
    ## What it does
    Flags `log_metric` / `log_metrics` (fluent or `MlflowClient`) in a loop without a `step`
    (neither keyword nor positional, and no `**kwargs` that could hold one), when the same
    key is logged on every iteration: a literal key, or a `log_metrics` dict literal with
    literal keys. Such calls at adjacent lines of one loop (`log_metric("acc", acc)`, then
    `log_metric("loss", loss)`) are one finding that spans them, and its fix passes the step
    to each.

    ## Why is this bad
    Without a step MLflow records every point at step 0: the metric's history holds all the
    values, but the chart plots them on top of each other at x = 0, and comparing runs by step
    is impossible. Pass the loop counter as `step=`. In a loop over a mapping's entries (`for
    name, model in models.items()`), the iterations are named things, not time: log a key per
    entry (`f"{name}_accuracy"`) or a child run per entry instead.

    ## Fix safety
    Unsafe: where the loop has an obvious counter (`for step, batch in enumerate(...)`, `for
    epoch in range(...)`) and is not nested in another loop, the fix adds `step=<counter>`.
    That changes what is stored (the steps), which is the point, so it is applied only with
    `--unsafe-fixes`.

    ## Not flagged
    A key that changes with each iteration (each key is logged once), a loop that opens a
    run per iteration, and a client call whose run changes with each iteration. A call under
    a test for a new best (`if val_acc > best_acc: mlflow.log_metric("best_acc", val_acc)`):
    a running best, whose latest value is the one read; a few points over a training. Also
    when the test for a new best is joined to a first-time test (`if epoch == 1 or val_f1 >=
    best_f1:`).
    """

    code = "MLF108"
    name = "metric-without-step"
    summary = (
        "A metric logged on every iteration of a loop without `step`: every point lands on step 0."
    )
    triggers = api.METRIC_CALLS
    include_throttled = True
    counts_requests = False  # two points on step 0 collide in a loop of two as well
    fix_safety = Safety.UNSAFE

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        if found.name not in api.METRIC_CALLS:
            return False
        bound = fixes.bind_arguments(call, found.signature)
        if bound is None or "step" in bound:
            return False  # a step, or **kwargs that may hold one
        if found.name == "log_metric":
            key = bound.get("key")
            return key is not None and fixes.literal_string(key.value) is not None
        metrics = bound.get("metrics")
        return (
            metrics is not None
            and type(metrics.value) is cst.Dict
            and bool(metrics.value.elements)
            and all(
                type(e) is cst.DictElement and fixes.literal_string(e.key) is not None
                for e in metrics.value.elements
            )
        )

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        counter = _counter(frames[0].loop) if len(frames) == 1 and not via else None
        fix = None
        if counter is not None:
            no_space = cst.SimpleWhitespace("")
            step = cst.Arg(
                value=cst.Name(counter),
                keyword=cst.Name("step"),
                equal=cst.AssignEqual(whitespace_before=no_space, whitespace_after=no_space),
            )
            fixed = call.with_changes(args=[*call.args, step])
            fix = PendingFix(
                f"Add `step={counter}`", Safety.UNSAFE, [NodeEdit(call, call, self.ctx.code(fixed))]
            )
        what = f"`{via}`" if via else f"`{found.qualname}`"

        def message(calls: int) -> str:
            if calls == 1:
                return (
                    f"{what} logs the same key in a loop without `step`: every point lands on "
                    "step 0"
                )
            return (
                f"{calls} `{found.qualname}` calls log the same keys in a loop without `step`: "
                "every point lands on step 0"
            )

        kind = (found.qualname, id(frames[0].loop))
        entry = _entry_name(frames[0].loop) if len(frames) == 1 and not via else None
        if entry is not None and not frequency.step_named(self.ctx.enclosing_function()):
            # (a function named for a step, `after_iteration`, repeats over time itself)
            # `for name, model in models.items()`: the iterations are named things, not time
            bound = fixes.bind_arguments(call, found.signature) or {}
            key = bound.get("key")
            literal = fixes.literal_string(key.value) if key is not None else None

            def per_entry(calls: int) -> str:
                metric = literal if calls == 1 and literal else "<metric>"
                return (
                    f"Each iteration is a named entry (`{entry}`), not a step: log it under a key "
                    f'per entry (`f"{{{entry}}}_{metric}"`) or in a child run per entry (`with '
                    f"mlflow.start_run(run_name={entry}, nested=True):`), so each value stays "
                    "visible"
                )

            self.report_adjacent(node, ("entry", *kind), message, per_entry)
            return
        hint = f"step={counter}" if counter else "step=<iteration counter>"
        help = f"Pass `{hint}`, so the history chart plots the points by step"
        if via:
            self.report(node, message(1), fix=fix, help=help)
            return
        self.report_adjacent(node, ("step", *kind), message, lambda _: help, fix)


def _entry_name(loop: cst.CSTNode) -> Optional[str]:
    """The key variable of a loop over a mapping's entries: `name` in `for name, model in
    models.items()` or `for name in models.keys()`."""
    if type(loop) is not cst.For or frequency.entries_of(loop) is None:
        return None
    iterable = frequency.collection(loop)
    if type(iterable) is not cst.Call or type(iterable.func) is not cst.Attribute:
        return None
    if iterable.func.attr.value not in ("items", "keys"):
        return None
    target: cst.BaseExpression = loop.target
    if type(target) is cst.Tuple and target.elements:
        target = target.elements[0].value
    if type(target) is not cst.Name or not target.value.strip("_"):
        return None  # `for _, metric in ...`: the entries are not what the metric is about
    return target.value


def _counter(loop: cst.CSTNode) -> Optional[str]:
    """The loop's counter: `for epoch in range(...)` -> epoch; `for i, x in enumerate(...)` -> i."""
    if type(loop) is not cst.For or type(loop.iter) is not cst.Call:
        return None
    func = loop.iter.func
    if type(func) is not cst.Name:
        return None
    target = loop.target
    if func.value == "range" and type(target) is cst.Name:
        return target.value
    if (
        func.value == "enumerate"
        and type(target) is cst.Tuple
        and target.elements
        and type(target.elements[0].value) is cst.Name
    ):
        return target.elements[0].value.value
    return None
