from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Union

import libcst as cst

from mlflow_lint import fixes, frequency, imports
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import (
    Branches,
    FileContext,
    LoopFrame,
    contains,
    exclusive,
    iter_children,
    loop_nodes,
)
from mlflow_lint.mlflow_api import UNBATCHED_METRIC, ApiCall
from mlflow_lint.rule import NodeEdit, PendingFix, Safety
from mlflow_lint.rules.loop_calls import LoopCallRule, branches_taken, documents_paced

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
# Where a file links metrics to a model itself: `log_batch` would not link buffered ones.
_ACTIVE_MODEL = re.compile(r"\bset_active_model\b|\bMLFLOW_ACTIVE_MODEL_ID\b")


@dataclass
class _Finding:
    node: cst.Call  # the call in the loop (the MLflow call, or the helper leading to it)
    found: ApiCall
    call: cst.Call  # the MLflow call itself
    via: str  # the helper chain, "" for a direct call
    frames: list[LoopFrame]
    statement: Optional[cst.SimpleStatementLine]  # the call's own one-call statement line
    mlflow_name: Optional[str]  # how the mlflow package is spelled at the call
    in_run: bool  # inside `with mlflow.start_run():` in the same function
    catching: bool  # inside a `try` whose handler may swallow the call's error
    column: int  # indentation of the call's statement
    units: dict[int, str]  # the indentation unit of the block around each ancestor, by id
    top: Optional[cst.CSTNode]  # the top-level statement that holds the call
    function: Optional[cst.FunctionDef]  # the function that holds the call
    # the `if`s between the outermost loop and the call: (id of the `if`, 0 body / 1 else)
    branches: Branches = ()


_ONE_CALL_PER_STEP = (
    "Log each step's metrics together in one `mlflow.log_metrics({...}, step=...)` call"
)


@frequency.documents_once_per_run
@documents_paced
class MetricInLoop(LoopCallRule):
    """
    ## What it does
    Flags an un-batched `log_metric` call, fluent `mlflow.log_metric` or
    `MlflowClient.log_metric`, that runs on every iteration of a per-step loop: a `for`,
    `async for` or `while` loop, or a comprehension. Calls made through a helper function
    defined in the same module are flagged where the helper is called in the loop, naming
    the chain. The same call in both branches of an `if` in one loop (with a step when there
    is one, without otherwise) is one request per iteration: one finding, at the first.
    Calls that log several metrics at one step of one loop (`if "loss" in row:
    log_metric("loss", row["loss"], step=s)`, then the same for `"lr"`) are one finding too,
    from the first call to the last: one `log_metrics` per step fixes them all.

    The advice follows the loop's shape: several metrics per step (a loop over metric
    names, a helper handed the same `step=` on every iteration, or other `log_metric` calls
    at the same step in the same iteration, nested loops included) are logged together with
    one `mlflow.log_metrics({...}, step=...)` per step (a
    loop over records whose keys may repeat, `for p in points: log_metric(p["name"], ...)`,
    is told that a dict keeps one point per key and `log_batch` keeps them all); one
    metric over many steps is buffered and sent with `MlflowClient.log_batch` (merging calls
    cannot help there, and logging every N steps drops points), unless the loop already
    calls `mlflow.log_metrics(...)`: the metric then joins that call; a client call with an
    explicit run is buffered for that client and run (`client.log_batch(run_id, ...)`).

    ## Why is this bad
    Every `log_metric` call is one REST request to the tracking server (`POST
    runs/log-metric`) and one database write transaction. Measured against a local `mlflow
    server`: 1,000 `log_metric` calls took ~55 s and 1,000 requests; one `log_batch` with the
    same 1,000 metrics took ~0.14 s and one request. In nested loops (epochs x batches) the
    requests multiply. One `log_metrics({...}, step=...)` call carries up to 1,000 metrics.

    ## Fix safety
    Unsafe, and offered only where the loop's shape makes it equivalent: a `for` or `while`
    loop whose only MLflow calls are plain `log_metric(key, value, step=...)` statements,
    fluent ones inside `with mlflow.start_run():` (same function, with no `end_run()` in
    the block before the loop: after one, the fluent call starts a run of its own and the
    buffer would have no active run to flush to), or calls of one
    `MlflowClient` on one run whose client and run do not change in the loop. Each call
    becomes a `Metric(key, value, timestamp, step)` appended to a buffer, with the timestamp
    taken at the original call site and the step stored as MLflow would have stored it (a
    step that may be `None` is written `step or 0`, as `log_metric` stores it). The `Metric`
    evaluates the key, the value and the step in that order, so a call that writes them in
    another order (`log_metric(step=s, key=k, value=compute())`) while one of them has side
    effects (calls a function other than `float()`, `.item()` and similar) gets no fix.
    `log_batch` sends the buffer when it holds 1,000 metrics or 5 seconds have passed (so
    live dashboards stay near-live), and a `finally` sends the rest when the loop ends or
    raises. For a run that completes normally the stored keys, values, steps and timestamps
    are the same. What differs: points reach the server up to 5 s later; a value that is a
    mutable object (a tensor, an array) changed in place before the flush is logged with its
    later value; an invalid value raises at the flush instead of at the call; and if the
    process is killed (not an exception) the unflushed points are lost, where the original
    had sent them one by one.

    No fix is offered where it would lose data: a call inside a `try` whose handler could
    swallow its error (the flush would raise outside that handler and drop every buffered
    point), and a file that sets an active model (`mlflow.set_active_model`: `log_metric`
    links each metric to it, a `Metric` in a batch does not; with a model set elsewhere the
    link is not made, which the fix cannot see).

    ## Not flagged
    {once_per_run}

    {paced}

    A loop over a written-out iterable of three items or fewer (`for split in ("train", "val",
    "test"):`, not `range(3)`, which in examples stands for any length): a fixed handful of
    requests, as many as the statements it stands for, not a number that grows with the data;
    nor over a name the same block has just bound to a written-out list of one item (`picked =
    ["ecc6f58b..."]`, then `for run_id in picked:`). A call after the loop; a call in a function
    or lambda merely defined in the loop; a method called `log_metric` on anything that is not
    MLflow (your own logger, wandb); a loop body that runs at most once (the call is followed by
    an unconditional `break`, `return` or `raise`); a call in an `except` handler (it runs when
    an iteration fails); a call guarded by `if step % N == 0` (already logging every N steps);
    calls inside a run opened per iteration (`for cfg in grid: with mlflow.start_run(): ...`, a
    hyperparameter sweep, or `mlflow.start_run()` ... `mlflow.end_run()` in the body without
    `with`, also under an `if` or a `try`, or a `with` of a context manager defined elsewhere
    and named for a run or for MLflow: `with tracker.start_run(name):`, `with
    plugins["MLFlowPlugin"]:`); already-batched calls (`log_metrics`, `log_batch`):
    one batched request per iteration is MLflow's recommended pattern; and calls at the epoch
    level of a training loop, once per epoch, which is the granularity MLflow recommends: the
    loop around the call has a per-batch loop of its own in its body (a `for` over anything but
    a literal collection or a dict's items, or a `while`), or its variable is named after epochs
    (`for epoch in range(...)`), or it counts epochs (`for t in range(epochs)`, `range(1,
    args.num_epochs + 1)`); a loop whose variable is named for batches or steps (`for
    batch_idx, batch in enumerate(loader)`) is per batch, whatever it loops over inside (each
    batch's callbacks). Calls in a loop over the folds of a cross-validation (its variable named
    for folds, `for fold, (train, test) in ...`, or over `kfold.split(X, y)`, `skf.split(...)`,
    `range(n_folds)`): k is a handful fixed for the run (5 or 10), each fold trains a model, and
    what it logs per fold is a few requests per run; a per-batch loop inside the fold loop is
    still reported. A call that a batching finding already covers (adjacent calls, MLF102; a
    loop over a mapping, MLF105) is reported there, once; so is a helper's own loop, not the
    loop that calls the helper (`for scores in history: on_step_end(scores)` where `on_step_end`
    logs each score in a loop). Test code (test modules, `tests/` folders, `test_*` functions):
    its few points go to a throwaway store, and a test may log point by point on purpose. A loop
    inside an `except` handler (logging item by item after a batched call failed, to keep the
    valid items), and code after an unconditional `continue` or `return`."""

    code = "MLF101"
    name = "metric-in-loop"
    summary = (
        "Un-batched `log_metric` on every iteration of a loop: one tracking request per iteration."
    )
    triggers = frozenset(UNBATCHED_METRIC)
    fix_safety = Safety.UNSAFE
    skips_test_code = True
    guards_items = True
    one_finding_per_branch_pair = False  # every call feeds the loop's fix: see finish()

    def setup(self) -> None:
        super().setup()
        self._findings: list[_Finding] = []

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        return found.name in UNBATCHED_METRIC

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        if frequency.per_epoch(frames[0].loop):
            return
        parents = self.ctx.ancestors
        statement = None
        if not via and len(parents) >= 2 and type(parents[-1]) is cst.Expr:
            line = parents[-2]
            if type(line) is cst.SimpleStatementLine and len(line.body) == 1:
                statement = line
        in_walk = not via  # helper calls are flagged after the walk: no ancestors then
        self._findings.append(
            _Finding(
                node,
                found,
                call,
                via,
                frames,
                statement,
                fixes.mlflow_module_name(self.ctx) if in_walk else None,
                fixes.inside_run_block(self.ctx) if in_walk else False,
                id(call) in self.ctx.caught_calls if in_walk else True,
                fixes.current_indent(self.ctx) if in_walk else 0,
                fixes.enclosing_units(self.ctx) if in_walk else {},
                self.ctx.top_statement() if in_walk else None,
                _function(self.ctx) if in_walk else None,
                branches_taken(self.ctx.ancestors, frames[-1].loop) if in_walk else (),
            )
        )

    def finish(self) -> None:
        super().finish()
        covered = self.ctx.covered
        findings = [f for f in self._findings if id(f.call) not in covered]
        # the same call in both branches of an `if` in one loop (`log_metric(k, v, step=step)`
        # if there is a step, else `log_metric(k, v)`) is one request per iteration: one finding
        echoes = _branch_echoes(findings)
        # per file, not per finding (a dense file has thousands): whether it sets an active
        # model, the fluent findings per innermost loop, and each plain call statement's finding
        self._active_model = _ACTIVE_MODEL.search(self.ctx.text) is not None
        self._per_loop: dict[int, int] = {}
        self._by_call: dict[int, _Finding] = {}
        for f in findings:
            if not f.via and f.statement is not None:  # a plain call statement
                self._by_call.setdefault(id(f.call), f)
            if f.frames and not f.found.is_client and id(f) not in echoes:
                inner = id(f.frames[0].loop)
                self._per_loop[inner] = self._per_loop.get(inner, 0) + 1
        built: dict[int, Optional[PendingFix]] = {}
        # the calls an iteration makes at one step (`if "loss" in row: log_metric("loss", ...,
        # step=s)`, then the same for "lr"): one problem, one `log_metrics` per step: one
        # finding from the first call to the last
        steps: dict[tuple[object, ...], list[tuple[_Finding, Optional[PendingFix], str]]] = {}
        reports: list[
            tuple[_Finding, Optional[PendingFix], str, str, Optional[tuple[object, ...]]]
        ] = []
        for finding in findings:
            loop = self._buffer_loop(finding, findings)
            fix = None
            if loop is not None:
                if id(loop) not in built:
                    unit = finding.units[id(loop)]
                    built[id(loop)] = self._buffer_fix(loop, finding, findings, unit)
                fix = built[id(loop)]
            if id(finding) in echoes:
                continue  # its loop's fix, built from every finding, still covers it
            message, advice = self._message(finding, findings)
            key: Optional[tuple[object, ...]] = None
            if advice == _ONE_CALL_PER_STEP and not finding.via and finding.statement is not None:
                step = (fixes.bind_arguments(finding.call, finding.found.signature) or {}).get(
                    "step"
                )
                key = (
                    id(finding.frames[0].loop),
                    len(finding.frames),
                    finding.found.qualname,
                    self.ctx.code(step.value) if step is not None else None,
                    id(fix),
                )
                group = steps.setdefault(key, [])
                group.append((finding, fix, message))
                if len(group) > 1:
                    continue
            reports.append((finding, fix, message, advice, key))
        for finding, fix, message, advice, key in reports:
            group = steps.get(key, []) if key is not None else []
            if len(group) > 1:
                calls = f"{len(group)} `{finding.found.qualname}` calls"
                if len(finding.frames) == 1:
                    message = f"{calls} at one step in a loop: {len(group)} requests per iteration"
                else:
                    message = (
                        f"{calls} at one step {self.loops_phrase(finding.frames)}: "
                        f"{len(group)} requests per inner iteration"
                    )
                self.report(finding.node, message, fix=fix, end_node=group[-1][0].node, help=advice)
            else:
                self.report(finding.node, message, fix=fix, help=advice)

    # --- the message: what is wrong, and the advice for this loop's shape ----------------------
    def _message(self, finding: _Finding, findings: list[_Finding]) -> tuple[str, str]:
        frames = finding.frames
        what = f"`{finding.via}`" if finding.via else f"`{finding.found.qualname}`"
        if len(frames) == 1:
            message = f"{what} in a loop: one request per iteration"
        else:
            message = f"{what} {self.loops_phrase(frames)}: one request per inner iteration"
        bound = fixes.bind_arguments(finding.call, finding.found.signature) or {}
        if finding.found.is_client:
            client = (
                self.ctx.code(finding.call.func.value)
                if type(finding.call.func) is cst.Attribute
                else "client"
            )
            run = self.ctx.code(bound["run_id"].value) if "run_id" in bound else "run_id"
            return message, (
                "Buffer the points as `Metric` entities and send up to 1,000 at a time with "
                f"`{client}.log_batch({run}, metrics=[...])`"
            )
        key, step = bound.get("key"), bound.get("step")
        inner = frames[0].loop
        keys_loop = (
            key is not None
            and type(inner) is cst.For
            and fixes.uses_names(key.value, fixes.target_names(inner.target))
        ) or self._new_key_each_time(inner, key, step)
        if finding.via and not keys_loop:
            # through a helper (`self._log_metric(k, v)` for each entry of a mapping): it is
            # handed the entry's key, so each call logs a metric of its own
            entry_key = _entry_key_name(inner)
            keys_loop = entry_key is not None and any(
                fixes.uses_names(arg.value, [entry_key]) for arg in finding.node.args
            )
        if finding.via and not keys_loop:
            # handed one step for every iteration (`self._log_outputs(cb, step=self.epoch)`
            # for each callback): its points share that step, so their keys differ
            varying = self.ctx.loop_varying(inner)
            keys_loop = any(
                arg.keyword is not None
                and arg.keyword.value == "step"
                and self.ctx.invariant(arg.value, varying)
                for arg in finding.node.args
            )
        if keys_loop and not _distinct_keys(inner, bound.get("value")):
            # keys read from a list of records may repeat: a dict would keep one point each
            return message, (
                "Send the points together: one `mlflow.log_metrics({...}, step=...)` call when "
                "their keys are distinct; where a key can repeat (points read from a list), "
                "buffer `Metric` entities and send them with "
                "`MlflowClient().log_batch(run_id, metrics=[...])`, which keeps every point"
            )
        if (
            keys_loop
            or self._per_loop.get(id(inner), 0) > 1
            or (
                step is not None
                and self._loop_metrics(inner)[1].get(self.ctx.code(step.value), 0) > 1
            )
        ):
            return message, _ONE_CALL_PER_STEP
        # the usual case, decided once per file: no `log_metrics` call, no loop body to walk
        batched = (
            self._loop_metrics(inner)[0]
            if self.ctx.memo("metric_in_loop.any-batched", lambda: "log_metrics" in self.ctx.text)
            else None
        )
        if batched is not None:
            return message, (
                f"This loop already calls `{batched}`: log this metric in that call, at its step"
            )
        return message, (
            "Buffer the points and send up to 1,000 at a time with "
            "`MlflowClient().log_batch(run_id, metrics=[...])`: `log_metrics` cannot merge one "
            "metric's steps, and logging every N steps drops points"
        )

    def _loop_metrics(self, loop: cst.CSTNode) -> tuple[Optional[str], dict[str, int]]:
        """One walk of an iteration of `loop` (outside nested functions) for its fluent
        metric calls: how its own `log_metrics(...)` call is spelled, if it makes one (the one
        request per iteration a metric can join), and how many `log_metric` calls it makes at
        each step, by the step's spelling, nested loops included (`log_metric("field", f,
        step=step)` and, below it, `for k, v in results.items(): log_metric(k, v,
        step=step)`): more than one at a step is several metrics there, which one
        `log_metrics` per step sends."""

        def scan() -> tuple[Optional[str], dict[str, int]]:
            batched: Optional[str] = None
            steps: dict[str, int] = {}
            for node in loop_nodes(loop):
                if type(node) is not cst.Call:
                    continue
                found = self.ctx.api_call(node)
                if found is None or found.is_client:
                    continue
                if found.name == "log_metrics" and batched is None:
                    batched = f"{self.ctx.code(node.func)}(...)"
                elif found.name == "log_metric":
                    bound = fixes.bind_arguments(node, found.signature) or {}
                    if "step" in bound:
                        spelled = self.ctx.code(bound["step"].value)
                        steps[spelled] = steps.get(spelled, 0) + 1
            return batched, steps

        calls: tuple[Optional[str], dict[str, int]] = self.ctx.memo(
            f"metric_in_loop.calls:{id(loop)}", scan
        )
        return calls

    def _new_key_each_time(
        self, loop: cst.CSTNode, key: Optional[cst.Arg], step: Optional[cst.Arg]
    ) -> bool:
        """The key changes from one iteration to the next (`f"score_{name}"` with `name` read
        from the item) while the step does not: several metrics at one step, which one
        `log_metrics` call after the loop sends together."""
        if key is None or isinstance(key.value, (cst.SimpleString, cst.ConcatenatedString)):
            return False  # a written-out key (the common case) needs no look at the loop
        varying = self.ctx.loop_varying(loop)
        if self.ctx.invariant(key.value, varying):
            return False
        return step is None or self.ctx.invariant(step.value, varying)

    # --- the buffering fix ----------------------------------------------------------------------
    def _buffer_loop(self, finding: _Finding, findings: list[_Finding]) -> Optional[Loop]:
        """The outermost loop around the call whose only MLflow calls are plain
        `log_metric(key, value, step=...)` statements of one kind (fluent inside a run, or one
        client on one run): buffering there is equivalent."""
        if finding.statement is None or finding.catching or finding.via:
            return None
        if self._active_model:
            return None
        if finding.found.is_client:
            target = _client_target(self.ctx, finding.call)
            if target is None:
                return None
        elif finding.mlflow_name is None or not finding.in_run:
            return None
        for frame in reversed(finding.frames):
            loop = frame.loop
            if isinstance(loop, (cst.For, cst.While)) and self._bufferable(loop, finding, findings):
                return loop
        return None

    def _bufferable(self, loop: Loop, finding: _Finding, findings: list[_Finding]) -> bool:
        kind = _kind(self.ctx, finding.call)
        todo: list[cst.CSTNode] = [loop]
        while todo:
            node = todo.pop()
            if isinstance(node, (cst.Yield, cst.Await)) or (
                type(node) is cst.For and node.asynchronous
            ):
                return False  # a suspended generator would hold the buffer
            if type(node) is cst.Call:
                found = self.ctx.api_call(node)
                if found is not None:
                    other = self._buffered(node, findings)
                    if other is None or _kind(self.ctx, other.call) != kind:
                        return False  # another MLflow call: ordering against the buffer matters
                    if other.catching:
                        return False
                helper = self.ctx.local_function(node)
                if helper is not None and self.ctx.reachable_api_calls(helper):
                    return False
            todo.extend(iter_children(node))
        if kind[0] == "client":  # the client and the run must not change in the loop
            assigned = fixes.loop_bound_names(loop)
            target = _client_target(self.ctx, finding.call)
            if target is None or not assigned.isdisjoint(target[1]):
                return False
        return True

    def _buffered(self, call: cst.Call, findings: list[_Finding]) -> Optional[_Finding]:
        """The finding of a plain `log_metric(key, value, step=...)` statement the buffer can
        take (no comment among its arguments: only the line's comment is kept)."""
        finding = self._by_call.get(id(call))
        if (
            finding is not None
            and finding.statement is not None
            and _plain_arguments(self.ctx, finding.found, call) is not None
            and not fixes.has_comment(finding.statement.body[0])
        ):
            return finding
        return None

    def _single_statement(self, loop: Loop, finding: _Finding) -> bool:
        """`for x in xs: log_metric(...)` and nothing else, its variables not read after it:
        the points are known up front, so one `log_batch` of all of them does (MLflow splits
        it by 1,000 itself); no buffer, no timer."""
        if type(loop) is not cst.For or loop.orelse is not None or loop.asynchronous:
            return False
        body = loop.body
        if type(body) is not cst.IndentedBlock or list(body.body) != [finding.statement]:
            return False
        if finding.frames[0].loop is not loop:
            return False
        names = fixes.target_names(loop.target)
        if finding.function is not None:
            return not fixes.uses_names(finding.function, names, skip=loop)
        return not self.ctx.module_uses_names(names, skip=loop)

    def _comprehension_fix(
        self,
        loop: cst.For,
        finding: _Finding,
        plan: imports.Plan,
        metric: str,
        time: str,
        sender: str,
        run_id: str,
    ) -> Optional[PendingFix]:
        bound = _plain_arguments(self.ctx, finding.found, finding.call)
        if bound is None:
            return None
        key, value = (self.ctx.code(bound[name].value) for name in ("key", "value"))
        loops = [frame.loop for frame in finding.frames]
        step = fixes.step_or_zero(self.ctx, bound["step"].value, loops)
        stamp = bound.get("timestamp")
        timestamp = self.ctx.code(stamp.value) if stamp else f"int({time}.time() * 1000)"
        pairs = [("key", key), ("value", value), ("timestamp", timestamp), ("step", step)]
        indent = max(finding.column - len(fixes.INDENT), 0)  # the loop's, one level out
        element = fixes.call_code(metric, fixes.keywords(pairs), finding.column + 8)
        header = f"for {self.ctx.code(loop.target)} in {self.ctx.code(loop.iter)}"
        inner = fixes.indent_following_lines(element, fixes.INDENT)
        points = f"[\n{fixes.INDENT}{inner}\n{fixes.INDENT}{header}\n]"
        call = fixes.call_code(f"{sender}.log_batch", [run_id, f"metrics={points}"], indent)
        comments = fixes.comments_in(loop.with_changes(leading_lines=()))
        above = "".join(f"{c.value}\n" for c in comments)
        return PendingFix(
            f"Log all the points in one `{sender}.log_batch()`",
            Safety.UNSAFE,
            [*plan.edits, NodeEdit(loop, loop, above + call)],
        )

    def _buffer_fix(
        self, loop: Loop, first: _Finding, findings: list[_Finding], unit: str
    ) -> Optional[PendingFix]:
        ours = MARKER in self.ctx.text
        if not ours and self.ctx.module_uses_names([BATCH, STARTED, CLIENT, RUN_ID]):
            return None
        client = first.found.is_client
        mlflow = first.mlflow_name
        wanted = [imports.Wanted("time")]
        if mlflow is None:
            wanted.append(imports.Wanted("mlflow.entities", "Metric"))
        if first.top is None:
            return None
        plan = imports.plan(self.ctx, wanted, first.top, first.function)
        if plan is None:
            return None
        time = plan.spellings[wanted[0]]
        metric = f"{mlflow}.entities.Metric" if mlflow else plan.spellings[wanted[1]]
        if client:
            target = _client_target(self.ctx, first.call)
            assert target is not None
            sender, run_id = target[0], target[2]
        elif self._single_statement(loop, first):
            sender, run_id = f"{mlflow}.MlflowClient()", f"{mlflow}.active_run().info.run_id"
        else:
            sender, run_id = CLIENT, RUN_ID
        if type(loop) is cst.For and self._single_statement(loop, first):
            return self._comprehension_fix(loop, first, plan, metric, time, sender, run_id)
        flush_code = f"{sender}.log_batch({run_id}, metrics={BATCH})"
        replaced: dict[int, list[cst.BaseStatement]] = {}
        for finding in findings:
            if finding.statement is None or not contains(loop, finding.call):
                continue
            bound = _plain_arguments(self.ctx, finding.found, finding.call)
            if bound is None:
                return None
            key, value = (self.ctx.code(bound[name].value) for name in ("key", "value"))
            loops = [frame.loop for frame in finding.frames]
            step = fixes.step_or_zero(self.ctx, bound["step"].value, loops)
            stamp = bound.get("timestamp")
            timestamp = (
                self.ctx.code(stamp.value) if stamp is not None else f"int({time}.time() * 1000)"
            )
            entity = fixes.call_code(
                metric,
                fixes.keywords(
                    [("key", key), ("value", value), ("timestamp", timestamp), ("step", step)]
                ),
                finding.column + 4 + len(BATCH) + len(".append("),
            )
            append = fixes.call_code(f"{BATCH}.append", [entity], finding.column)
            replaced[id(finding.statement)] = [
                cst.parse_statement(append + "\n").with_changes(
                    leading_lines=finding.statement.leading_lines,
                    trailing_whitespace=_comment_of(finding.statement),
                ),
                fixes.indented(
                    cst.parse_statement(
                        f"if len({BATCH}) >= {api.MAX_METRICS_PER_BATCH} or "
                        f"{time}.monotonic() - {STARTED} >= {api.BUFFER_FLUSH_SECONDS}:\n"
                        f"    {flush_code}\n"
                        f"    {BATCH}, {STARTED} = [], {time}.monotonic()\n"
                    ),
                    unit,
                ),
            ]
        new_loop = loop.visit(_ReplaceStatements(replaced))
        assert isinstance(new_loop, (cst.For, cst.While))
        flush = cst.parse_statement(f"if {BATCH}:\n    {flush_code}\n")
        wrapped = cst.Try(
            body=cst.IndentedBlock(body=[new_loop.with_changes(leading_lines=())], indent=unit),
            finalbody=cst.Finally(
                body=cst.IndentedBlock(body=[fixes.indented(flush, unit)], indent=unit)
            ),
        )
        setup = (
            f"{MARKER} one log_batch per {api.MAX_METRICS_PER_BATCH} metrics or "
            f"{api.BUFFER_FLUSH_SECONDS} s, flushed in `finally`\n"
        )
        if not client:
            setup += (
                f"{CLIENT} = {mlflow}.MlflowClient()\n"
                f"{RUN_ID} = {mlflow}.active_run().info.run_id\n"
            )
        setup += f"{BATCH} = []\n{STARTED} = {time}.monotonic()\n"
        edits = [*plan.edits, NodeEdit(loop, loop, setup + self.ctx.code(wrapped).rstrip("\r\n"))]
        return PendingFix(
            f"Buffer the metrics and send them with "
            f"`{sender if client else f'{mlflow}.MlflowClient()'}.log_batch()`",
            Safety.UNSAFE,
            edits,
        )


def _branch_echoes(findings: list[_Finding]) -> set[int]:
    """Ids of the findings that repeat another of the same call in another branch of an `if`
    inside the same outermost loop: both branches never run in one pass. Of such findings
    the one in the most loops is kept (`if series == loss: log_metric("Loss", ...)` under
    an "at most once" guard, else `log_metric(series, ...)` on every inner iteration)."""
    groups: dict[tuple[int, str, bool], list[_Finding]] = {}
    for finding in findings:
        if finding.via or not finding.frames or not finding.branches:
            continue
        group = (id(finding.frames[-1].loop), finding.found.name, finding.found.is_client)
        groups.setdefault(group, []).append(finding)
    echoes: set[int] = set()
    for members in groups.values():
        kept: list[_Finding] = []
        for finding in sorted(members, key=lambda f: -len(f.frames)):  # stable: source order
            if any(exclusive(finding.branches, other.branches) for other in kept):
                echoes.add(id(finding))
            else:
                kept.append(finding)
    return echoes


def _function(ctx: FileContext) -> Optional[cst.FunctionDef]:
    function = ctx.enclosing(cst.FunctionDef)
    return function if type(function) is cst.FunctionDef else None


def _kind(ctx: FileContext, call: cst.Call) -> tuple[str, ...]:
    """What the buffer sends through: ("fluent",) or ("client", client code, run code)."""
    target = _client_target(ctx, call)
    if target is None:
        return ("fluent",)
    return ("client", target[0], target[2])


def _client_target(ctx: FileContext, call: cst.Call) -> Optional[tuple[str, frozenset[str], str]]:
    """For `client.log_metric(run_id, ...)`: (client code, the names the client and the run
    read, run code), when both are free of side effects; None otherwise (or fluent)."""
    found = ctx.api_call(call)
    if found is None or not found.is_client or type(call.func) is not cst.Attribute:
        return None
    bound = fixes.bind_arguments(call, found.signature) or {}
    run = bound.get("run_id")
    receiver = call.func.value
    if run is None or not (fixes.is_pure(receiver) and fixes.is_pure(run.value)):
        return None
    names = frozenset(_names(receiver) | _names(run.value))
    return ctx.code(receiver), names, ctx.code(run.value)


def _names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()
    todo: list[cst.CSTNode] = [node]
    while todo:
        current = todo.pop()
        if type(current) is cst.Name:
            found.add(current.value)
        todo.extend(iter_children(current))
    return found


def _comment_of(statement: cst.SimpleStatementLine) -> cst.TrailingWhitespace:
    """The line's end, comment included, with the spaces before the comment (after a `;`,
    libcst keeps them on the semicolon)."""
    trailing = statement.trailing_whitespace
    if trailing.comment is not None and not trailing.whitespace.value:
        return trailing.with_changes(whitespace=cst.SimpleWhitespace("  "))
    return trailing


def _plain_arguments(
    ctx: FileContext, found: ApiCall, call: cst.Call
) -> Optional[dict[str, cst.Arg]]:
    """key, value and step (and a client's run_id and timestamp), nothing else (no
    synchronous, model_id, ...); None as well when they are written in another order than
    the rebuilt `Metric(key=..., value=..., timestamp=..., step=...)` evaluates them and one
    has side effects."""
    bound = fixes.bind_arguments(call, found.signature)
    if bound is None:
        return None
    allowed = {"key", "value", "step"} | ({"run_id", "timestamp"} if found.is_client else set())
    if not {"key", "value", "step"} <= set(bound) <= allowed:
        return None
    order = [name for name in bound if name != "run_id"]
    expected = [name for name in ("key", "value", "timestamp", "step") if name in bound]
    if order != expected and not all(fixes.is_pure(arg.value) for arg in bound.values()):
        return None
    return bound


def _entry_key_name(loop: cst.CSTNode) -> Optional[str]:
    """The name a loop over a mapping binds its keys to: `k` in `for k, v in d.items():` and
    `for k in d.keys():`."""
    if frequency.entries_of(loop) is None or type(loop) is not cst.For:
        return None
    view = cst.ensure_type(frequency.collection(loop), cst.Call).func
    target = loop.target
    if type(view) is cst.Attribute and view.attr.value == "items" and type(target) is cst.Tuple:
        first = target.elements[0].value if target.elements else None
        return first.value if type(first) is cst.Name else None
    if type(view) is cst.Attribute and view.attr.value == "keys" and type(target) is cst.Name:
        return target.value
    return None


def _distinct_keys(loop: cst.CSTNode, value: Optional[cst.Arg]) -> bool:
    """A loop whose items cannot repeat a key: a mapping's entries or keys (`for name, value
    in scores.items():`, or `for name in scores:` logging `scores[name]`), a range (`for i in
    range(n): log_metric(f"layer_{i}", ...)`) or a written-out collection of distinct names."""
    if frequency.entries_of(loop) is not None:
        return True
    if type(loop) is not cst.For:
        return False
    iterable = loop.iter
    looked_up = value.value if value is not None else None
    if (
        type(looked_up) is cst.Subscript
        and looked_up.value.deep_equals(iterable)
        and type(loop.target) is cst.Name
        and fixes.uses_names(looked_up, [loop.target.value], skip=looked_up.value)
    ):
        return True  # `metrics[name]` for each `name in metrics`: the mapping's own keys
    if type(iterable) is cst.Call:
        return type(iterable.func) is cst.Name and iterable.func.value == "range"
    if isinstance(iterable, (cst.List, cst.Tuple, cst.Set)):
        names = [fixes.literal_string(element.value) for element in iterable.elements]
        return None not in names and len(set(names)) == len(names)
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
