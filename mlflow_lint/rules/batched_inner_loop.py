from __future__ import annotations

import libcst as cst

from mlflow_lint import mlflow_api as api
from mlflow_lint.context import LoopFrame
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rules.loop_calls import LoopCallRule, documents_paced


@documents_paced
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

    ## Not flagged
    {paced}

    - Inner loops over size-capped chunks of one collection (`for i in range(0, len(metrics),
      1000)` slicing `metrics[i : i + 1000]`, `for part in chunk_list(params, 100)`): that
      loop is the batching, each iteration sends a full batch.
    - Loops whose every iteration creates a run (`with mlflow.start_run():`, `run =
      mlflow.start_run()`, `run = client.create_run(...)` in the loop's body): the calls
      inside are per run, so one inner loop remains, and one loop is not nested logging.
    - Inner loops over a written-out iterable of three items or fewer (`for split in
      ("train", "val"):`): per split, not per batch.
    - Calls under `if step % N == 0:` (the remedy itself) or that run on one iteration at
      most (`break`, `if i == best:`).
    """

    code = "MLF901"
    name = "batched-logging-in-inner-loop"
    summary = "`log_metrics` / `log_batch` per inner iteration of nested loops (opt-in)."
    triggers = api.BATCHED_METRICS
    default_enabled = False

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        return found.name in api.BATCHED_METRICS

    def frames(self, node: cst.CSTNode) -> list[LoopFrame]:
        return [
            frame
            for frame in super().frames(node)
            if not self.ctx.iterates_chunks(frame.loop) and not self.ctx.fixed_handful(frame.loop)
        ]

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        if len(frames) < 2:
            return
        what = f"`{via}`" if via else f"`{found.qualname}`"
        self.report(
            node,
            f"{what} {self.loops_phrase(frames)} sends one request per inner iteration",
            help=(
                "Log every N steps (`if step % N == 0:`), or enable async logging with "
                "`MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS` set so MLflow coalesces the requests"
            ),
        )
