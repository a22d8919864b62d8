from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import FileContext
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, Safety


@dataclass
class MappingLoop:
    """`for k, v in D.items(): mlflow.log_param(k, v)`: a loop that only logs each item."""

    loop: cst.For
    call: cst.Call
    found: api.ApiCall
    mapping: cst.BaseExpression  # D
    extra: dict[str, cst.Arg]  # step=, synchronous=, ... (loop-invariant)


def mapping_loop(ctx: FileContext, loop: cst.CSTNode) -> Optional[MappingLoop]:
    """The loop if its whole body is one un-batched fluent call logging each item of a mapping."""
    if not isinstance(loop, cst.For) or loop.orelse is not None or loop.asynchronous:
        return None
    iterator = loop.iter
    if not (
        isinstance(iterator, cst.Call)
        and not iterator.args
        and isinstance(iterator.func, cst.Attribute)
        and iterator.func.attr.value == "items"
    ):
        return None
    target = loop.target
    if not (
        isinstance(target, cst.Tuple)
        and len(target.elements) == 2
        and all(isinstance(e.value, cst.Name) for e in target.elements)
    ):
        return None
    key_name, value_name = fixes.target_names(target)
    body = loop.body.body
    if len(body) != 1:
        return None
    statement = body[0]
    small = (
        statement.body
        if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite))
        else ()
    )
    if (
        len(small) != 1
        or not isinstance(small[0], cst.Expr)
        or not isinstance(small[0].value, cst.Call)
    ):
        return None
    call = small[0].value
    found = ctx.api_call(call)
    if found is None or found.is_client or found.name not in api.FLUENT_BATCH_FORM:
        return None
    bound = fixes.bind_arguments(call, found.signature)
    if bound is None:
        return None
    key, value = bound.pop("key", None), bound.pop("value", None)
    if not (
        key is not None
        and value is not None
        and isinstance(key.value, cst.Name)
        and key.value.value == key_name
        and isinstance(value.value, cst.Name)
        and value.value.value == value_name
    ):
        return None
    batch_signature = api.FLUENT_SIGNATURES[api.FLUENT_BATCH_FORM[found.name][0]]
    for name, arg in bound.items():
        if name not in batch_signature.params or name in ("timestamp",):
            return None
        if fixes.uses_names(arg.value, (key_name, value_name)) or not fixes.is_pure(arg.value):
            return None
    return MappingLoop(loop, call, found, iterator.func.value, bound)


class PerItemLoggingLoop(Rule):
    """
    ## What it does
    Flags a loop whose whole body logs one item of a mapping per iteration:
    `for k, v in D.items(): mlflow.log_param(k, v)`, and likewise `mlflow.log_metric(k, v,
    step=s)` and `mlflow.set_tag(k, v)`.

    ## Why is this bad
    One tracking request and one database transaction per item. `mlflow.log_params(D)`,
    `mlflow.log_metrics(D, step=s)` and `mlflow.set_tags(D)` send the whole mapping in one
    `runs/log-batch` request (MLflow's client splits it above 1,000 metrics or 100
    params/tags).

    ## Fix safety
    The fix replaces the loop with one batched call on the same mapping expression, which is
    evaluated once, as `D.items()` was. It is safe inside a `with mlflow.start_run():` block in
    the same function, when the loop variables are not used anywhere else in that scope: the
    same items with the same values and step are logged (for metrics, under one timestamp). It
    is unsafe otherwise: with no active run, `log_params({})` on an empty mapping starts a run
    where the empty loop did nothing, and code after the loop could read the loop variables.
    """

    code = "MLF105"
    name = "per-item-logging-loop"
    summary = "A loop that logs a mapping item by item: one request per item instead of one."
    triggers = frozenset(api.FLUENT_BATCH_FORM)
    fix_safety = Safety.SAFE

    def leave_For(self, node: cst.For) -> None:  # after the calls inside are resolved
        found = mapping_loop(self.ctx, node)
        if found is None:
            return
        batch, _ = api.FLUENT_BATCH_FORM[found.found.name]
        callee = fixes.fluent_callee(self.ctx, found.call, batch)
        shown = callee or f"mlflow.{batch}"
        mapping = self.ctx.code(found.mapping)
        arguments = [
            mapping,
            *fixes.keywords((n, self.ctx.code(a.value)) for n, a in found.extra.items()),
        ]
        suggestion = f"{shown}({', '.join(arguments)})"
        if "\n" in suggestion or len(suggestion) > 80:  # messages are one short line
            shown_mapping = mapping if "\n" not in mapping and len(mapping) <= 40 else "..."
            more = ", ..." if len(arguments) > 1 else ""
            suggestion = f"{shown}({shown_mapping}{more})"
        fix = None
        if callee is not None and not fixes.has_comment(node.with_changes(leading_lines=())):
            loop_names = fixes.target_names(node.target)
            function = self.ctx.enclosing(cst.FunctionDef)
            reused = (
                fixes.uses_names(function, loop_names, skip=node)
                if function is not None
                else self.ctx.module_uses_names(loop_names, skip=node)
            )
            safe = fixes.inside_run_block(self.ctx) and not reused
            code = fixes.call_code(callee, arguments, fixes.current_indent(self.ctx))
            fix = PendingFix(
                f"Replace the loop with `{suggestion}`",
                Safety.SAFE if safe else Safety.UNSAFE,
                [NodeEdit(node, node, code)],
            )
        self.report(
            node,
            f"This loop calls `mlflow.{found.found.name}` once per item: one tracking request "
            f"each; log the whole mapping in one request with `{suggestion}`",
            fix=fix,
            end_node=node.iter,
        )
