from __future__ import annotations

import libcst as cst

from mlflow_lint import mlflow_api as api

from mlflow_lint.context import LoopFrame
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rules.loop_calls import LoopCallRule



class BatchedLoggingInInnerLoop(LoopCallRule):
    """
    ## What it does
    Off by default; enable it with `--select MLF901`. Flags `log_metrics` / `log_batch`
    (fluent or `MlflowClient`) in the innermost of nested loops, typically per batch inside
    per epoch.

    ## Why is this bad
    Batching the step's metrics is right, but it is still one request and one database
    transaction per inner iteration: epochs x batches requests. Log every N steps (`if step %
    100 == 0:`), or turn on asynchronous logging and let MLflow coalesce the requests:
    `mlflow.config.enable_async_logging()` together with the environment variable
    `MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS` (async logging alone still sends one request per
    call), ending the run with `with mlflow.start_run():` or `mlflow.end_run()` so the buffer
    is flushed.

    ## Fix safety
    No automatic fix: how often to log is a choice.
    """

    code = "MLF901"
    name = "batched-logging-in-inner-loop"
    summary = "`log_metrics` / `log_batch` per inner iteration of nested loops (opt-in)."
    triggers = api.BATCHED_METRICS
    default_enabled = False

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        return found.name in api.BATCHED_METRICS

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        if len(frames) < 2:
            return
        what = f"`{via}`" if via else f"`{found.qualname}`"
        self.report(
            node,
            f"{what} {self.loops_phrase(frames)} sends one request per inner iteration; log "
            "every N steps, or enable async logging with `MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS` "
            "so MLflow coalesces the requests",
        )
