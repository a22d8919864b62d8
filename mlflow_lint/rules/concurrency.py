from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import iter_children
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rule import Rule
from mlflow_lint.rules import workers
from mlflow_lint.rules.lifecycle import (
    calls_in,
    has_keyword,
    is_client_call,
    is_fluent,
    is_hook_class,
    is_main_guard,
)


def _worker_calls(
    rule: Rule, target: cst.BaseExpression, own_runs: bool
) -> Iterator[tuple[ApiCall, cst.Call, str]]:
    """MLflow calls the worker function makes (directly, or through local helpers), each with
    its call node and the chain of names that leads to it; `own_runs`: also those inside runs
    it opens itself."""
    ctx = rule.ctx
    if type(target) is cst.Lambda:
        for call in calls_in(target.body, enter_scopes=True):
            found = ctx.api_call(call)
            if found is not None:
                yield found, call, "lambda"
        return
    if isinstance(target, (cst.Name, cst.Attribute)):
        callee = ctx.resolver.resolve(target)  # after the walk: the module's final bindings
        summary = ctx.functions.get(callee) if callee else None
        if summary is not None:
            for found, call, chain in ctx.reachable_api_calls(summary, own_runs=own_runs):
                yield found, call, " -> ".join(chain)


def _passes_run_id(found: ApiCall, call: cst.Call) -> bool:
    """A fluent call given `run_id=` (by keyword or position, not `None`) logs to that run;
    only the functions whose signature has `run_id` can take one."""
    signature = found.signature
    if signature is None or "run_id" not in signature.params:
        return False
    bound = fixes.bind_arguments(call, signature)
    if bound is None:  # `*args` / `**kwargs`: only an explicit keyword counts
        bound = {arg.keyword.value: arg for arg in call.args if arg.keyword is not None}
    run_id = bound.get("run_id")
    return run_id is not None and not (
        type(run_id.value) is cst.Name and run_id.value.value == "None"
    )


def _explicit_run_advice(name: str) -> str:
    """How to log what fluent `name` logs to the parent run from a worker thread."""
    if name in ("log_metric", "log_param", "set_tag"):
        return f"`MlflowClient().{name}(run_id, key, value)`"
    if name in api.BATCHED:
        signature = api.FLUENT_SIGNATURES.get(name)
        if signature is not None and "run_id" in signature.params:
            return f"`mlflow.{name}(..., run_id=run_id)`"
        entities = {"log_metrics": "metrics", "log_params": "params", "set_tags": "tags"}
        return f"`MlflowClient().log_batch(run_id, {entities.get(name, 'metrics')}=[...])`"
    if name == "log_input":
        return "`MlflowClient().log_inputs(run_id, datasets=[...])`"
    return f"`MlflowClient().{name}(run_id, ...)`"


class FluentLoggingInThreads(Rule):
    """
    ## What it does
    Flags handing a function to a thread (`threading.Thread(target=f)`,
    `ThreadPoolExecutor().submit(f)` or `.map(f)`) when the function makes a fluent
    `mlflow.log_*` / `set_tag(s)` call that logs to the active run: directly, through helpers
    defined in the module, or in a lambda. Reported once per hand-over, naming the first such
    call. Only `log_metric`, `log_metrics`, `log_params`, `log_artifact(s)`, `log_text`,
    `log_dict` and `log_table` take a `run_id`; `log_param`, `set_tag`, `set_tags`,
    `log_figure`, `log_image` and `log_input` cannot name the run and are always flagged.

    ## Why is this bad
    Since MLflow 2.18 the active run is per thread. A worker thread has no active run, so
    its first fluent logging call silently starts a new run: measured, 8 tasks on a 4-worker
    pool produced 4 new runs and nothing in the parent run. Pass the parent's run id
    explicitly; the message names the call to use: `MlflowClient().log_metric(run_id, key,
    value)` (likewise `log_param` and `set_tag`), `mlflow.log_metrics(..., run_id=run_id)` or
    `mlflow.log_params(..., run_id=run_id)`, `MlflowClient().log_batch(run_id, tags=[...])`
    for `set_tags`, and `MlflowClient().log_artifact(run_id, ...)` (or the client method of
    the same name) for artifacts.

    ## Fix safety
    No automatic fix.

    ## Not flagged
    Calls that pass `run_id=` (by keyword or position, and not `None`), which log to that run;
    calls inside a run the worker opens itself (`with mlflow.start_run():`); `MlflowClient`
    calls; and workers handed to process pools (MLF401's business).
    """

    code = "MLF306"
    name = "fluent-logging-in-threads"
    summary = (
        "Fluent logging in a thread worker: since MLflow 2.18 each thread"
        " silently starts its own run."
    )
    triggers = api.FLUENT_LOGGING
    requires = workers.THREAD_WORDS

    def finish(self) -> None:
        for submission in workers.shared_submissions(self.ctx):
            if submission.kind != workers.THREAD:
                continue
            # a worker that opens its own run logs to it on purpose
            for found, call, chain in _worker_calls(self, submission.target, own_runs=False):
                if (
                    not found.is_client
                    and found.name in api.FLUENT_LOGGING
                    and not _passes_run_id(found, call)
                ):
                    self.report(
                        submission.call,
                        f"this thread runs `{chain} -> mlflow.{found.name}`, which starts a run "
                        "of its own",
                        help=(
                            "The active run is per thread (MLflow 2.18+): pass the parent's run "
                            f"id explicitly, with {_explicit_run_advice(found.name)}"
                        ),
                    )
                    break


class AsyncWithoutFlush(Rule):
    """
    ## What it does
    Flags asynchronous logging (`synchronous=False` on a logging call, or
    `mlflow.config.enable_async_logging()`) in a module where nothing ends a run or drains
    the queue: no `with mlflow.start_run():`, no `mlflow.end_run()`,
    `mlflow.flush_async_logging()` or MLflow's private `_shut_down_async_logging()`, no
    `MlflowClient.set_terminated(...)`, and no autologging patch that manages its run
    (`safe_patch(..., manage_run=True)`).

    ## Why is this bad
    Async logging queues points in a background thread; they are sent when the run ends or
    the queue is flushed. Without that, the exit handler runs too late: Python refuses new
    work at interpreter shutdown and MLflow logs "Failed to submit batch for logging: cannot
    schedule new futures after interpreter shutdown". Measured on MLflow 3.17 with
    `MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS=5`: points logged in a script that never ends its
    run are lost at exit, while `end_run()`, `flush_async_logging()` and
    `MlflowClient.set_terminated()` each store all of them.

    ## Not flagged
    - A module that ends or flushes a run anywhere (see above): MLflow drains the queue there,
      whichever run the points went to (`set_terminated` shuts the queue down like `end_run`).
    - Async logging in the methods of a framework hook class (a class deriving from a base
      whose name ends in `Callback`, `Callbacks`, `Hook`, `Hooks` or `Logger`: Keras,
      Lightning and transformers callbacks, kedro and mmcv hooks, loggers), or of a class
      named a callback or hook itself (`class MlflowCallbackLGBM:` with `__call__(self,
      env)`: LightGBM and CatBoost take plain objects): the framework calls it inside a run
      its caller owns and ends.
    - Autologging code that patches with `manage_run=True`: the patch ends the run it
      starts when the patched call returns.
    - `mlflow.config.enable_async_logging()` in a module that neither starts a run nor
      writes to one (a configuration module): the runs, and their ends, are in the modules
      that import it.
    - A module of logging helpers: it starts no run, and its async logging sits in
      functions that nothing in the module calls outside a function (no `if __name__ ==
      "__main__":` block either). Its functions log into the run their callers start and
      end, in the modules that import them. A script that logs without starting a run (the
      first call starts one, and nothing ends it) is still reported.

    ## Fix safety
    No automatic fix.
    """

    code = "MLF305"
    name = "async-without-flush"
    summary = "Async logging in code whose run is never ended or flushed: points are lost at exit."
    triggers = frozenset({"synchronous", "enable_async_logging"})
    # (end_run, flush_async_logging and start_run, which clear the finding, need no trigger: a
    # file with async logging is analysed whole; `manage_run=True` is read in code elision
    # could otherwise leave out, as it names nothing of the tracking API)
    context = frozenset({"manage_run"})

    def setup(self) -> None:
        self._async: list[cst.Call] = []
        self._ended = False
        self._writes = False  # the module starts a run or writes to one
        self._starts = False  # the module starts a run (`mlflow.start_run()`)
        # the module runs its own code: async logging outside any function, a call of one of
        # its functions outside any function, or an `if __name__ == "__main__":` block
        self._runs_itself = False

    def visit_If(self, node: cst.If) -> None:
        if self.ctx.enclosing_function() is None and is_main_guard(node.test):
            self._runs_itself = True

    def visit_Call(self, node: cst.Call) -> None:
        found = self.ctx.api_call(node)
        if found is not None and (found.name in api.RUN_WRITES or found.name == api.START_RUN):
            self._writes = True
            self._starts = self._starts or found.name == api.START_RUN
        top_level = self.ctx.enclosing_function() is None
        if top_level and found is None and self.ctx.callee_is_local(node):
            self._runs_itself = True
        if (found is not None and has_keyword(node, "synchronous", "False")) or (
            found is None and _is_enable_async(self, node)
        ):
            if not is_hook_class(self.ctx.enclosing(cst.ClassDef)):
                self._async.append(node)
                self._runs_itself = self._runs_itself or top_level
        elif (
            is_fluent(self.ctx, node, *api.ASYNC_FLUSHES)
            or is_client_call(self.ctx, node, "set_terminated")
            or has_keyword(node, "manage_run", "True")
        ):
            self._ended = True

    def leave_With(self, node: cst.With) -> None:  # after its start_run() call is resolved
        if any(
            is_fluent(self.ctx, item.item, api.START_RUN)
            for item in node.items
            if type(item.item) is cst.Call
        ):
            self._ended = True

    def finish(self) -> None:
        if self._ended:
            return
        # `enable_async_logging()` alone in a module that neither starts a run nor logs (a
        # configuration module): the runs, and their ends, are in the modules that import it
        if not self._writes:
            return
        # a module of logging helpers that starts no run and runs none of its own code: its
        # functions log into the run their callers start, and end, elsewhere
        if not self._starts and not self._runs_itself:
            return
        for call in self._async:
            self.report(
                call,
                "asynchronous logging, but nothing here ends the run or flushes the queue",
                help=(
                    "Use `with mlflow.start_run():`, or call `mlflow.end_run()` or "
                    "`mlflow.flush_async_logging()` before the process exits: points still "
                    "queued at exit are lost"
                ),
            )


def _is_enable_async(rule: Rule, node: cst.Call) -> bool:
    callee = rule.ctx.resolver.resolve(node.func)
    if callee != api.ENABLE_ASYNC:
        return False
    return not node.args or not (
        type(node.args[0].value) is cst.Name and node.args[0].value.value == "False"
    )


class SqliteWithWorkerProcesses(Rule):
    """
    ## What it does
    Flags logging from worker processes (`multiprocessing.Process(target=f)`, `Pool().map(f)`,
    `ProcessPoolExecutor().submit(f)`, `joblib.Parallel(...)(delayed(f)(...))`) when the
    tracking URI is sqlite: set in code (`mlflow.set_tracking_uri("sqlite:///...")`), or left
    at the default, which is `sqlite:///mlflow.db` since MLflow 3.7.

    ## Why is this bad
    SQLite allows one writer at a time: concurrent workers wait on the database lock (a 20 s
    busy timeout per session; measured 2-5 s per 100 calls per process against 0.3 s alone).
    Workers that create a fresh database at the same time race on its schema migrations
    (tested: of 4 spawned workers logging to a new `sqlite:///` file, most fail with
    "duplicate column name" or "table ... already exists"). Run a tracking server
    (`mlflow server --backend-store-uri sqlite:///mlflow.db`) and point the workers at it
    with an `http://` tracking URI.

    ## Fix safety
    No automatic fix.

    ## Not flagged
    A tracking URI set in the file to anything but sqlite (`http://...`, `databricks`), and
    workers that make no MLflow call; thread workers share the process and its connection
    pool (MLF306 is about them).
    """

    code = "MLF401"
    name = "sqlite-with-worker-processes"
    summary = (
        "Logging from worker processes with a sqlite tracking URI (the default since MLflow 3.7)."
    )
    # set_tracking_uri decides whether the URI is sqlite: it must be seen too
    triggers = api.FLUENT_LOGGING | {"log_batch", "set_tracking_uri"}
    requires = workers.PROCESS_WORDS
    context = frozenset({"MLFLOW_TRACKING_URI"})  # see _tracking_uri

    def finish(self) -> None:
        uri = self._tracking_uri()
        if uri is not None and not uri.startswith("sqlite"):
            return
        where = f"`{uri}`" if uri else "the default `sqlite:///mlflow.db` (MLflow 3.7+)"
        for submission in workers.shared_submissions(self.ctx):
            if submission.kind != workers.PROCESS:
                continue
            # its own run or not, every worker writes to the same sqlite file
            for found, _, chain in _worker_calls(self, submission.target, own_runs=True):
                if found.name in api.FLUENT_LOGGING or found.name in (
                    "log_batch",
                    "log_metric",
                    "log_param",
                    "set_tag",
                ):
                    self.report(
                        submission.call,
                        f"worker processes log through `{chain}` to {where}",
                        help=(
                            "Run `mlflow server --backend-store-uri sqlite:///mlflow.db` and "
                            "point the workers at its `http://` URI: workers that open a new "
                            "sqlite database together race on creating its tables, and all of "
                            "them wait on sqlite's one write lock"
                        ),
                    )
                    break

    def _tracking_uri(self) -> Optional[str]:
        """The literal tracking URI the module sets, "" for a computed one, None for none."""
        uri: Optional[str] = None
        todo: list[cst.CSTNode] = [self.ctx.module]
        while todo:
            node = todo.pop()
            if (
                type(node) is cst.Call
                and is_fluent(self.ctx, node, "set_tracking_uri")
                and node.args
            ):
                value = node.args[0].value
                uri = (
                    value.evaluated_value
                    if type(value) is cst.SimpleString and isinstance(value.evaluated_value, str)
                    else "<computed>"
                )
            elif type(node) is cst.SimpleString and "MLFLOW_TRACKING_URI" in node.value:
                uri = uri or "<computed>"
            todo.extend(iter_children(node))
        return uri
