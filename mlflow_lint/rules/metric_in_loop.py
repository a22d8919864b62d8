from __future__ import annotations

import libcst as cst

from mlflow_lint.context import FunctionSummary, LoopFrame
from mlflow_lint.mlflow_api import UNBATCHED_METRIC, ApiCall
from mlflow_lint.rule import Rule


class MetricInLoop(Rule):
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
    """

    code = "MLF101"
    name = "metric-in-loop"
    summary = "Un-batched `log_metric` on every iteration of a loop: one tracking request per iteration."
    triggers = frozenset(UNBATCHED_METRIC)

    def setup(self) -> None:
        self._helper_calls: list[tuple[cst.Call, FunctionSummary, list[LoopFrame]]] = []
        self._in_loop: set[int] = set()  # ids of calls already flagged in their own loop

    def visit_Call(self, node: cst.Call) -> None:
        found = self.ctx.api_call(node)
        if found is not None and found.name not in UNBATCHED_METRIC:
            return
        frames = [f for f in self.ctx.loops(node) if not f.at_most_once and not f.throttled]
        if not frames:
            return
        if found is not None:
            self._in_loop.add(id(node))
            self.report(node, self._message(found, frames))
            return
        helper = self.ctx.local_function(node)
        if helper is not None:
            self._helper_calls.append((node, helper, frames))

    def finish(self) -> None:
        for node, helper, frames in self._helper_calls:
            for found, call, chain in self.ctx.reachable_api_calls(helper):
                if found.name in UNBATCHED_METRIC and id(call) not in self._in_loop:
                    via = " -> ".join((*chain, found.qualname))
                    self.report(node, self._message(found, frames, via))
                    break

    def _message(self, found: ApiCall, frames: list[LoopFrame], via: str = "") -> str:
        what = f"`{via}`" if via else f"`{found.qualname}`"
        if len(frames) == 1:
            where = "in a loop sends one tracking request per iteration"
        else:
            loops = " x ".join(self.ctx.loop_label(f.loop) for f in reversed(frames))
            where = (
                f"in {len(frames)} nested loops ({loops}) sends one tracking request per "
                "inner iteration, multiplied by every outer one"
            )
        return (
            f"{what} {where}; log each step's metrics together with "
            "`mlflow.log_metrics({...}, step=step)`, buffer them for "
            "`MlflowClient().log_batch()`, or log every N steps"
        )
