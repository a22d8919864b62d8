from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import LoopFrame, iter_children
from mlflow_lint.mlflow_api import UNBATCHED_METRIC, ApiCall
from mlflow_lint.names import dotted_name
from mlflow_lint.rule import NodeEdit, PendingFix, Safety
from mlflow_lint.rules.loop_calls import LoopCallRule

Loop = Union[cst.For, cst.While]
# Names the buffering fix introduces; the fix is not offered when the file uses one for
# something else (a file an earlier buffering fix wrote carries MARKER and may reuse them).
BATCH, STARTED, CLIENT, RUN_ID = (
    "_metric_batch",
    "_metric_batch_started",
    "_mlflow_client",
    "_mlflow_run_id",
)
MARKER = "# mlflow-lint MLF101:"


@dataclass
class _Finding:
    call: cst.Call
    message: str
    frames: list[LoopFrame]
    statement: Optional[cst.SimpleStatementLine]  # the call's own one-call statement line
    mlflow_name: Optional[str]  # how the mlflow package is spelled at the call
    in_run: bool  # inside `with mlflow.start_run():` in the same function
    column: int  # indentation of the call's statement
    units: dict[int, str]  # the indentation unit of the block around each ancestor, by id


class MetricInLoop(LoopCallRule):
    """
    ## What it does
    Flags an un-batched `log_metric` call, fluent `mlflow.log_metric` or
    `MlflowClient.log_metric`, that runs on every iteration of a `for`, `async for` or `while`
    loop, or inside a comprehension. Calls made through a helper function defined in the same
    module are flagged where the helper is called in the loop, naming the chain.

    Not flagged: a call after the loop; a call in a function or lambda merely defined in the
    loop; a method called `log_metric` on anything that is not MLflow (your own logger, wandb);
    a loop body that runs at most once (the call is followed by an unconditional `break`,
    `return` or `raise`); a call guarded by `if step % N == 0` (already logging every N steps);
    calls inside a run opened per iteration (`for cfg in grid: with mlflow.start_run(): ...`,
    a hyperparameter sweep); and already-batched calls (`log_metrics`, `log_batch`): one batched
    request per iteration is MLflow's recommended pattern.

    ## Why is this bad
    Every `log_metric` call is one REST request to the tracking server (`POST
    runs/log-metric`) and one database write transaction. Measured against a local `mlflow
    server`: 1,000 `log_metric` calls took ~55 s and 1,000 requests; one `log_batch` with the
    same 1,000 metrics took ~0.14 s and one request. In nested loops (epochs x batches) the
    requests multiply. One `log_metrics({...}, step=...)` call carries up to 1,000 metrics.

    ## Fix safety
    Unsafe, and offered only where the loop's shape makes it equivalent: a `for` or `while`
    loop inside `with mlflow.start_run():` (same function) whose only MLflow calls are plain
    `mlflow.log_metric(key, value, step=...)` statements. Each call becomes an
    `mlflow.entities.Metric(key, value, timestamp, step)` appended to a buffer, with the
    timestamp taken at the original call site. The `Metric` evaluates the key, the value and
    the step in that order, so a call that writes them in another order (`log_metric(step=s,
    key=k, value=compute())`) while one of them has side effects (calls a function other than
    `float()`, `.item()` and similar) gets no fix: the finding is only reported.
    `MlflowClient().log_batch()` sends the buffer when it holds 1,000 metrics or 5 seconds
    have passed (so live dashboards stay near-live), and a `finally` sends the rest when the
    loop ends or raises. For a run that completes normally the stored keys, values, steps and
    timestamps are the same. What differs: points reach the server up to 5 s later; a value
    that is a mutable object (a tensor, an array) changed in place before the flush is logged
    with its later value; an invalid value raises at the flush instead of at the call; and if
    the process is killed (not an exception) the unflushed points are lost, where the original
    had sent them one by one.
    """

    code = "MLF101"
    name = "metric-in-loop"
    summary = (
        "Un-batched `log_metric` on every iteration of a loop: one tracking request per iteration."
    )
    triggers = frozenset(UNBATCHED_METRIC)
    fix_safety = Safety.UNSAFE

    def setup(self) -> None:
        super().setup()
        self._findings: list[_Finding] = []

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        return found.name in UNBATCHED_METRIC

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        what = f"`{via}`" if via else f"`{found.qualname}`"
        if len(frames) == 1:
            cost = "sends one tracking request per iteration"
        else:
            cost = "sends one tracking request per inner iteration, multiplied by every outer one"
        message = (
            f"{what} {self.loops_phrase(frames)} {cost}; log each step's metrics together with "
            "`mlflow.log_metrics({...}, step=step)`, buffer them for "
            "`MlflowClient().log_batch()`, or log every N steps"
        )
        if via:  # through a helper: report only
            self.report(node, message)
            return
        parents = self.ctx.ancestors
        statement = None
        if len(parents) >= 2 and isinstance(parents[-1], cst.Expr):
            line = parents[-2]
            if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
                statement = line
        self._findings.append(
            _Finding(
                node,
                message,
                frames,
                statement,
                fixes.mlflow_module_name(self.ctx),
                fixes.inside_run_block(self.ctx),
                fixes.current_indent(self.ctx),
                fixes.enclosing_units(self.ctx),
            )
        )

    def finish(self) -> None:
        super().finish()
        built: dict[int, Optional[PendingFix]] = {}
        for finding in self._findings:
            loop = self._buffer_loop(finding)
            fix = None
            if loop is not None:
                if id(loop) not in built:
                    unit = finding.units[id(loop)]
                    built[id(loop)] = self._buffer_fix(loop, finding.mlflow_name or "mlflow", unit)
                fix = built[id(loop)]
            self.report(finding.call, finding.message, fix=fix)

    # --- the buffering fix ----------------------------------------------------------------------
    def _buffer_loop(self, finding: _Finding) -> Optional[Loop]:
        """The outermost loop around the call whose only MLflow calls are plain
        `mlflow.log_metric(key, value, step=...)` statements: buffering there is equivalent."""
        if finding.mlflow_name is None or not finding.in_run or finding.statement is None:
            return None
        for frame in reversed(finding.frames):
            if isinstance(frame.loop, (cst.For, cst.While)) and self._bufferable(frame.loop):
                return frame.loop
        return None

    def _bufferable(self, loop: Loop) -> bool:
        todo: list[cst.CSTNode] = [loop]
        while todo:
            node = todo.pop()
            if isinstance(node, (cst.Yield, cst.Await)) or (
                isinstance(node, cst.For) and node.asynchronous
            ):
                return False  # a suspended generator would hold the buffer
            if isinstance(node, cst.Call):
                found = self.ctx.api_call(node)
                if found is not None and self._statement_of(node) is None:
                    return False  # another MLflow call: ordering against the buffer matters
                helper = self.ctx.local_function(node)
                if helper is not None and self.ctx.reachable_api_calls(helper):
                    return False
            todo.extend(iter_children(node))
        return True

    def _statement_of(self, call: cst.Call) -> Optional[_Finding]:
        for finding in self._findings:
            found = self.ctx.api_call(call)
            if (
                finding.call is call
                and found is not None
                and not found.is_client  # a client call names its run: it is not buffered
                and finding.statement is not None
                and _plain_arguments(self.ctx, call)
                and not fixes.has_comment(finding.statement.body[0])  # kept only around it
            ):
                return finding
        return None

    def _buffer_fix(self, loop: Loop, mlflow: str, unit: str) -> Optional[PendingFix]:
        ours = MARKER in self.ctx.text
        if not ours and any(name in self.ctx.text for name in (BATCH, STARTED, CLIENT, RUN_ID)):
            return None
        time_edit = self._time_import()
        if time_edit is False:
            return None
        replaced: dict[int, list[cst.BaseStatement]] = {}
        for finding in self._findings:
            if finding.statement is None or not _contains(loop, finding.call):
                continue
            bound = _plain_arguments(self.ctx, finding.call)
            if bound is None:
                return None
            key, value, step = (
                self.ctx.code(bound[name].value) for name in ("key", "value", "step")
            )
            metric = fixes.call_code(
                f"{mlflow}.entities.Metric",
                fixes.keywords(
                    [
                        ("key", key),
                        ("value", value),
                        ("timestamp", "int(time.time() * 1000)"),
                        ("step", step),
                    ]
                ),
                finding.column + 4 + len(BATCH) + len(".append("),
            )
            append = fixes.call_code(f"{BATCH}.append", [metric], finding.column)
            replaced[id(finding.statement)] = [
                cst.parse_statement(append + "\n").with_changes(
                    leading_lines=finding.statement.leading_lines,
                    trailing_whitespace=_comment_of(finding.statement),
                ),
                fixes.indented(
                    cst.parse_statement(
                        f"if len({BATCH}) >= {api.MAX_METRICS_PER_BATCH} or "
                        f"time.monotonic() - {STARTED} >= {api.BUFFER_FLUSH_SECONDS}:\n"
                        f"    {CLIENT}.log_batch({RUN_ID}, metrics={BATCH})\n"
                        f"    {BATCH}, {STARTED} = [], time.monotonic()\n"
                    ),
                    unit,
                ),
            ]
        new_loop = loop.visit(_ReplaceStatements(replaced))
        assert isinstance(new_loop, (cst.For, cst.While))
        flush = cst.parse_statement(f"if {BATCH}:\n    {CLIENT}.log_batch({RUN_ID}, metrics={BATCH})\n")
        wrapped = cst.Try(
            body=cst.IndentedBlock(body=[new_loop.with_changes(leading_lines=())], indent=unit),
            finalbody=cst.Finally(
                body=cst.IndentedBlock(body=[fixes.indented(flush, unit)], indent=unit)
            ),
        )
        setup = (
            f"{MARKER} one log_batch per {api.MAX_METRICS_PER_BATCH} metrics or "
            f"{api.BUFFER_FLUSH_SECONDS} s, flushed in `finally`\n"
            f"{CLIENT} = {mlflow}.MlflowClient()\n"
            f"{RUN_ID} = {mlflow}.active_run().info.run_id\n"
            f"{BATCH} = []\n"
            f"{STARTED} = time.monotonic()\n"
        )
        edits = [NodeEdit(loop, loop, setup + self.ctx.code(wrapped).rstrip("\r\n"))]
        if isinstance(time_edit, NodeEdit):
            edits.insert(0, time_edit)
        return PendingFix(
            f"Buffer the metrics and send them with `{mlflow}.MlflowClient().log_batch()`",
            Safety.UNSAFE,
            edits,
        )

    def _time_import(self) -> Union[NodeEdit, bool, None]:
        """None when `import time` is there; an edit adding it; False when `time` means
        something else in this file."""
        first_import: Optional[cst.CSTNode] = None
        for statement in self.ctx.module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Import):
                    if any(
                        a.asname is None and dotted_name(a.name) == "time" for a in small.names
                    ):
                        return None
                    first_import = first_import or small
                elif (
                    isinstance(small, cst.ImportFrom)
                    and first_import is None
                    and not (
                        isinstance(small.module, cst.Name) and small.module.value == "__future__"
                    )
                ):
                    first_import = small
        if first_import is None or self.ctx.module_uses_names(["time"]):
            return False
        return NodeEdit(first_import, first_import, "import time\n" + self.ctx.code(first_import))


def _comment_of(statement: cst.SimpleStatementLine) -> cst.TrailingWhitespace:
    """The line's end, comment included, with the spaces before the comment (after a `;`,
    libcst keeps them on the semicolon)."""
    trailing = statement.trailing_whitespace
    if trailing.comment is not None and not trailing.whitespace.value:
        return trailing.with_changes(whitespace=cst.SimpleWhitespace("  "))
    return trailing


def _plain_arguments(ctx: object, call: cst.Call) -> Optional[dict[str, cst.Arg]]:
    """key, value and step, and nothing else (no timestamp, run_id, synchronous, ...); None
    as well when they are written in another order (`log_metric(step=next(c), key=k,
    value=v)`) and one has side effects: the rebuilt `Metric(key=..., value=...,
    timestamp=..., step=...)` evaluates them as key, value, step."""
    bound = fixes.bind_arguments(call, api.FLUENT_SIGNATURES["log_metric"])
    if bound is None or set(bound) != {"key", "value", "step"}:
        return None
    if list(bound) != ["key", "value", "step"] and not all(
        fixes.is_pure(arg.value) for arg in bound.values()
    ):
        return None
    return bound


def _contains(root: cst.CSTNode, target: cst.CSTNode) -> bool:
    todo: list[cst.CSTNode] = [root]
    while todo:
        node = todo.pop()
        if node is target:
            return True
        todo.extend(iter_children(node))
    return False


class _ReplaceStatements(cst.CSTTransformer):
    def __init__(self, replaced: dict[int, list[cst.BaseStatement]]) -> None:
        super().__init__()
        self.replaced = replaced

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> Union[cst.BaseStatement, cst.FlattenSentinel[cst.BaseStatement]]:
        new = self.replaced.get(id(original_node))
        return cst.FlattenSentinel(new) if new is not None else updated_node
