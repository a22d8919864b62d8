from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from mlflow_lint import mlflow_api as api
from mlflow_lint.rule import Rule
from mlflow_lint.rules.lifecycle import (
    calls_in,
    has_keyword,
    inside_active_run,
    is_fluent,
    start_run_call,
)


class LogAfterRunEnded(Rule):
    """
    ## What it does
    Flags fluent logging (`mlflow.log_metric`, `log_param`, `set_tag`, `log_artifact`, ...)
    after a `with mlflow.start_run():` block closed, in the same function or module body, when
    no other run is active there (not inside an outer `with mlflow.start_run()`, the closed
    block was not a `nested=True` child run, and no run was started again in between).

    ## Why is this bad
    When the `with` block ends, so does the run. The next fluent logging call finds no active
    run and silently starts a new run (with a generated name) for that one value: the metric
    or param is not where you will look for it, and the tracking server gains a stray run per
    execution.
    Log inside the block, or pass the run id explicitly (`MlflowClient().log_metric(run_id,
    ...)`).

    ## Fix safety
    No automatic fix: moving the call into the block changes what runs inside the run.

    ## Not flagged
    Logging after the block when another run is active there (an outer `with
    mlflow.start_run()`), after a `nested=True` child run's block (the parent is active
    again), after a run is started again, and `MlflowClient` calls (they name their run).
    Functions and classes defined after the block: their bodies run where they are called.
    """

    code = "MLF304"
    name = "log-after-run-ended"
    summary = (
        "Fluent logging after the `with mlflow.start_run()` block closed:"
        " silently creates a new run."
    )
    triggers = frozenset({api.START_RUN})

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._scan(node.body)

    def leave_Module(self, node: cst.Module) -> None:
        self._scan(node.body)

    def _scan(self, statements: Sequence[cst.BaseStatement]) -> None:
        if inside_active_run(self.ctx):
            return
        closed = False
        for statement in statements:
            if closed and not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                # (a definition runs nothing: its body logs wherever it is called from)
                if self._starts_run(statement):
                    return
                for call in sorted(self._logging_calls(statement), key=lambda c: id(c)):
                    found = self.ctx.api_call(call)
                    assert found is not None
                    self.report(
                        call,
                        f"`mlflow.{found.name}` after the `with mlflow.start_run()` block closed "
                        "starts a new run",
                        help=(
                            "Log inside the block, or pass the run id explicitly "
                            "(`MlflowClient().log_metric(run_id, ...)`)"
                        ),
                    )
            if type(statement) is cst.With:
                start = start_run_call(self.ctx, statement)
                if start is not None and not has_keyword(start, "nested", "True"):
                    closed = True

    def _starts_run(self, statement: cst.BaseStatement) -> bool:
        return any(is_fluent(self.ctx, c, api.START_RUN) for c in calls_in(statement))

    def _logging_calls(self, statement: cst.BaseStatement) -> list[cst.Call]:
        found = []
        for call in calls_in(statement):
            api_call = self.ctx.api_call(call)
            if api_call is None or api_call.is_client or api_call.name not in api.FLUENT_LOGGING:
                continue
            if any(arg.keyword is not None and arg.keyword.value == "run_id" for arg in call.args):
                continue
            found.append(call)
        return found
