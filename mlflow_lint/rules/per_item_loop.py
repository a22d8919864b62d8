from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst

from mlflow_lint import fixes, frequency, imports
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import FileContext, LoopFrame
from mlflow_lint.rule import NodeEdit, PendingFix, Safety

# The entity and `log_batch` list of each client call.
_CLIENT_BATCH = {
    "log_metric": ("Metric", "metrics"),
    "log_param": ("Param", "params"),
    "set_tag": ("RunTag", "tags"),
}


@dataclass
class MappingLoop:
    """`for k, v in D.items(): mlflow.log_param(k, v)` (or `client.log_param(run_id, k, v)`):
    a loop that only logs each item."""

    loop: cst.For
    call: cst.Call
    found: api.ApiCall
    mapping: cst.BaseExpression  # D
    extra: dict[str, cst.Arg]  # step=, synchronous=, run_id=, ... (loop-invariant)


def mapping_loop(ctx: FileContext, loop: cst.CSTNode) -> Optional[MappingLoop]:
    """The loop if its whole body is one un-batched call (fluent, or an `MlflowClient`'s)
    logging each item of a mapping."""
    if type(loop) is not cst.For or loop.orelse is not None or loop.asynchronous:
        return None
    iterator = loop.iter
    if not (
        type(iterator) is cst.Call
        and not iterator.args
        and type(iterator.func) is cst.Attribute
        and iterator.func.attr.value == "items"
    ):
        return None
    target = loop.target
    if not (
        type(target) is cst.Tuple
        and len(target.elements) == 2
        and all(type(e.value) is cst.Name for e in target.elements)
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
    if len(small) != 1 or type(small[0]) is not cst.Expr or type(small[0].value) is not cst.Call:
        return None
    call = small[0].value
    found = ctx.api_call(call)
    if found is None or found.name not in api.FLUENT_BATCH_FORM:
        return None
    bound = fixes.bind_arguments(call, found.signature)
    if bound is None:
        return None
    key, value = bound.pop("key", None), bound.pop("value", None)
    if not (
        key is not None
        and value is not None
        and type(key.value) is cst.Name
        and key.value.value == key_name
        and type(value.value) is cst.Name
        and value.value.value == value_name
    ):
        return None
    if found.is_client:
        allowed = {
            "run_id",
            "synchronous",
            *(("step", "timestamp") if found.name == "log_metric" else ()),
        }
        if "run_id" not in bound:
            return None
    else:
        batch_signature = api.FLUENT_SIGNATURES[api.FLUENT_BATCH_FORM[found.name][0]]
        allowed = set(batch_signature.params) - {"timestamp"}
    for name, arg in bound.items():
        if name not in allowed:
            return None
        if fixes.uses_names(arg.value, (key_name, value_name)) or not fixes.is_pure(arg.value):
            return None
    return MappingLoop(loop, call, found, iterator.func.value, bound)


class PerItemLoggingLoop(frequency.HoldsOncePerRun):
    """
    ## What it does
    Flags a loop whose whole body logs one item of a mapping per iteration:
    `for k, v in D.items(): mlflow.log_param(k, v)`, and likewise `mlflow.log_metric(k, v,
    step=s)`, `mlflow.set_tag(k, v)` and the `MlflowClient` calls
    `client.log_param(run_id, k, v)`, `client.log_metric(run_id, k, v, step=s)` and
    `client.set_tag(run_id, k, v)`.

    ## Why is this bad
    One tracking request and one database transaction per item. `mlflow.log_params(D)`,
    `mlflow.log_metrics(D, step=s)` and `mlflow.set_tags(D)` send the whole mapping in one
    `runs/log-batch` request (MLflow's client splits it above 1,000 metrics or 100
    params/tags), and so does `client.log_batch(run_id, params=[...])` for a client.

    ## Fix safety
    The fix replaces the loop with one batched call on the same mapping expression, which is
    evaluated once, as `D.items()` was; comments in the loop go above the new call. For a
    client it writes `client.log_batch(run_id, params=[Param(key=k, value=str(v)) for k, v
    in D.items()])` (`Metric`, `RunTag` likewise; imports added where missing). It is safe
    when no `try` around the loop in the same function could swallow an error, the calls
    are synchronous, and (fluent calls) the loop is inside a `with mlflow.start_run():` block
    in the same function, with no `end_run()` in the block before it: the same items
    with the same values and step are logged. On failure the batch differs: when MLflow
    rejects one item, the separate calls had stored the items before it, while the batch
    is rejected whole; the program raises at that point either way. It is unsafe otherwise:
    with no active run, `log_params({})` on an empty mapping starts a run where the empty
    loop did nothing; and for client metrics, each
    `Metric` is stamped when the batch is built and is not linked to an active model
    (`mlflow.set_active_model`), which `MlflowClient.log_metric` does. No fix is offered when
    the loop variables are read after the loop (the batched call binds none, so that code
    would raise `NameError` or read a stale value).

    ## Not flagged
    A loop over a mapping's entries (`for name, value in scores.items():`) in a script's
    own code (in no function: a script, or a notebook's cells, runs once per process), or
    in a function that runs once per run: not called in a loop of the module, not named for
    a step, batch or epoch (`on_epoch_end`), and not handed a step (`def record(results,
    step)`; a count such as `batch_size` or `epochs` is none), nor logging with a `step`
    other than a constant; none of these three matters when the function opens the run
    itself, `with mlflow.start_run():` around the loop: each call is a run of its own). Such
    a mapping
    is a schema's worth of names (a run's metrics, a model's params, a few tags, the fields
    of one configuration object: `self.config.items()`, `vars(args)`, `asdict(cfg)`,
    `args.dict()`): a handful to a few dozen requests once per run, which on real code,
    hand-judged, was not worth acting on.

    Still reported: the same loop nested in another loop (`for epoch in range(epochs):`),
    over every leaf of a nested configuration (a flattened dict: `flatten_dict(cfg)`,
    `params_flat`; or a function that calls itself for each nested mapping) or a document
    loaded whole (`json.loads(text)`, `yaml.safe_load(f)`): open-ended, up to hundreds of
    entries; over a history keyed by step (`for step, value in history.items()`); in a
    logging interface that logs the metrics its caller hands it at a step it is given (`def
    log_metrics(self, metrics, step):`: its callers log on every step) or logs params
    through a client (`client.log_param(run_id, ...)` names its run: a tool that writes
    many runs logs a config for each), unless it opens the run itself (each call is a run
    of its own); and in a metrics interface that takes no step (`def log_metrics(self,
    metrics):`) when this file calls it in a loop. Called in no loop of the file, such an
    interface is held: metrics logged with no step are summary values, logged once per run
    (a caller on every step would pile all its points on step 0). An interface that sets
    tags or logs params into the active run (`def set_tags(self, tags):`, `def
    log_params(self, params):`) is held like the rest: a run's labels and configuration,
    set once (a run takes one value per param key).

    Loops that do anything else besides the one call, loops over anything but `.items()`,
    calls that use the loop variables in their other arguments (`step=k`), and loops whose
    iteration has side effects besides logging.
    """

    code = "MLF105"
    name = "per-item-logging-loop"
    summary = "A loop that logs a mapping item by item: one request per item instead of one."
    triggers = frozenset(api.FLUENT_BATCH_FORM)
    fix_safety = Safety.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.callee_is_local(node):  # is a function with such a loop called in a loop?
            frequency.note_helper_site(self.ctx, node)

    def leave_For(self, node: cst.For) -> None:  # after the calls inside are resolved
        found = mapping_loop(self.ctx, node)
        if found is None:
            return
        self.ctx.covered.add(id(found.call))
        # not nested in a loop that repeats it: held when its function may run once per run
        if not self.ctx.repeating_loops(node):
            step = found.extra.get("step")
            own = frequency.object_run(self.ctx, found.call, found.found)
            once = frequency.once_per_run_entries(
                self.ctx,
                [LoopFrame(node, False, False)],
                step=step.value if step is not None else None,
                call=found.call,
                configures_run=frequency.configures_run(found.found) or own,
                client=found.found.is_client and not own,
            )
            if once is not None:
                self.hold(node, once)
        name = found.found.name
        if found.found.is_client:
            suggestion, fix = self._client(found)
            what = f"`MlflowClient.{name}`"
        else:
            suggestion, fix = self._fluent(found)
            what = f"`mlflow.{name}`"
        self.report(
            node,
            f"This loop calls {what} once per item: one request each",
            fix=fix,
            end_node=node.iter,
            help=f"Log the whole mapping in one request with `{suggestion}`",
        )

    def finish(self) -> None:
        self.release_held()

    def _fluent(self, found: MappingLoop) -> tuple[str, Optional[PendingFix]]:
        batch, _ = api.FLUENT_BATCH_FORM[found.found.name]
        callee = fixes.fluent_callee(self.ctx, found.call, batch)
        shown = callee or f"mlflow.{batch}"
        mapping = self.ctx.code(found.mapping)
        arguments = [
            mapping,
            *fixes.keywords((n, self.ctx.code(a.value)) for n, a in found.extra.items()),
        ]
        suggestion = _short(shown, mapping, arguments)
        if callee is None or not self._fixable(found):
            return suggestion, None
        safe = fixes.inside_run_block(self.ctx) and self._safe(found)
        code = fixes.call_code(callee, arguments, fixes.current_indent(self.ctx))
        return suggestion, PendingFix(
            f"Replace the loop with `{suggestion}`",
            Safety.SAFE if safe else Safety.UNSAFE,
            [NodeEdit(found.loop, found.loop, _comments_above(found.loop) + code)],
        )

    def _client(self, found: MappingLoop) -> tuple[str, Optional[PendingFix]]:
        entity, list_name = _CLIENT_BATCH[found.found.name]
        assert type(found.call.func) is cst.Attribute
        client = self.ctx.code(found.call.func.value)
        run_id = self.ctx.code(found.extra["run_id"].value)
        suggestion = f"{client}.log_batch({run_id}, {list_name}=[...])"
        if not (self._fixable(found) and fixes.is_pure(found.call.func.value)):
            return suggestion, None
        wanted = [imports.Wanted("mlflow.entities", entity)]
        metric = found.found.name == "log_metric"
        if metric and "timestamp" not in found.extra:
            wanted.append(imports.Wanted("time"))
        top = self.ctx.top_statement()
        function = self.ctx.enclosing(cst.FunctionDef)
        assert function is None or type(function) is cst.FunctionDef
        plan = imports.plan(self.ctx, wanted, top, function) if top is not None else None
        if plan is None:
            return suggestion, None
        key, value = fixes.target_names(found.loop.target)
        if metric:
            stamp = found.extra.get("timestamp")
            step = found.extra.get("step")
            time = plan.spellings.get(imports.Wanted("time"), "time")
            pairs = [
                ("key", key),
                ("value", value),
                (
                    "timestamp",
                    self.ctx.code(stamp.value) if stamp else f"int({time}.time() * 1000)",
                ),
                ("step", fixes.step_or_zero(self.ctx, step.value) if step else "0"),
            ]
        else:
            pairs = [("key", key), ("value", f"str({value})")]
        indent = fixes.current_indent(self.ctx)
        entity = plan.spellings[wanted[0]]
        element = fixes.call_code(entity, fixes.keywords(pairs), 0)
        mapping = self.ctx.code(found.mapping)
        loop = f"for {key}, {value} in {mapping}.items()"
        comprehension = f"[{element} {loop}]"
        if indent + len(list_name) + len(comprehension) + 6 > fixes.LINE_LENGTH:
            element = fixes.call_code(entity, fixes.keywords(pairs), indent + 8)
            inner = fixes.indent_following_lines(element, fixes.INDENT)
            comprehension = f"[\n{fixes.INDENT}{inner}\n{fixes.INDENT}{loop}\n]"
        arguments = [run_id, f"{list_name}={comprehension}"]
        if "synchronous" in found.extra:
            arguments.append(f"synchronous={self.ctx.code(found.extra['synchronous'].value)}")
        code = fixes.call_code(f"{client}.log_batch", arguments, fixes.current_indent(self.ctx))
        safe = not metric and self._safe(found)
        return suggestion, PendingFix(
            f"Replace the loop with one `{client}.log_batch` call",
            Safety.SAFE if safe else Safety.UNSAFE,
            [*plan.edits, NodeEdit(found.loop, found.loop, _comments_above(found.loop) + code)],
        )

    def _fixable(self, found: MappingLoop) -> bool:
        """No fix when code after the loop may read its variables: the batched call binds
        none (NameError, or a stale value from before the loop)."""
        loop_names = fixes.target_names(found.loop.target)
        function = self.ctx.enclosing(cst.FunctionDef)
        if function is not None:
            return not fixes.uses_names(function, loop_names, skip=found.loop)
        return not self.ctx.module_uses_names(loop_names, skip=found.loop)

    def _safe(self, found: MappingLoop) -> bool:
        synchronous = found.extra.get("synchronous")
        asynchronous = synchronous is not None and not (
            type(synchronous.value) is cst.Name and synchronous.value.value == "True"
        )
        return not asynchronous and not self.ctx.in_catching_try()


def _short(shown: str, mapping: str, arguments: list[str]) -> str:
    """The suggested call, cut short for a message when it is long."""
    suggestion = f"{shown}({', '.join(arguments)})"
    if "\n" in suggestion or len(suggestion) > 80:
        shown_mapping = mapping if "\n" not in mapping and len(mapping) <= 40 else "..."
        more = ", ..." if len(arguments) > 1 else ""
        suggestion = f"{shown}({shown_mapping}{more})"
    return suggestion


def _comments_above(loop: cst.For) -> str:
    """The comments inside the loop, as comment lines for above the call that replaces it."""
    return "".join(f"{c.value}\n" for c in fixes.comments_in(loop.with_changes(leading_lines=())))
