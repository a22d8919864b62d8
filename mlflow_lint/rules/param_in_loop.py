from __future__ import annotations

from typing import Optional

import libcst as cst

from mlflow_lint import fixes, frequency
from mlflow_lint.context import LoopFrame
from mlflow_lint.mlflow_api import UNBATCHED_PARAM, UNBATCHED_TAG, ApiCall
from mlflow_lint.rules.duplicate_param import DuplicateParamKey, changes_in_loop
from mlflow_lint.rules.loop_calls import LoopCallRule


@frequency.documents_once_per_run
class ParamInLoop(LoopCallRule):
    """
    ## What it does
    Flags an un-batched `log_param` or `set_tag` (fluent or `MlflowClient`) that runs on every
    iteration of a loop. Not flagged: loops that open their own run per iteration (a
    hyperparameter sweep), `log_params` / `set_tags` / `log_batch` over chunks (that is the
    batching already), the loop whose whole body logs one mapping item per iteration,
    which MLF105 (per-item-logging-loop) reports with a fix, and a param under a literal key
    whose value changes with the loop (`log_param("model_name", name)`), which MLF301
    (duplicate-param-key) reports as the error it is when it is selected. The same call in
    both branches of an `if` in one loop (`log_param(k, v)` for a scalar, else
    `log_param(k, str(v))`) is one finding, at the first, and so are calls with the same
    problem at adjacent lines of one loop (`log_param("lr", lr)`, then `log_param("seed",
    seed)`): one block to move or to batch, one finding that spans it.

    ## Why is this bad
    Params are immutable within a run: when the value changes between iterations, the second
    iteration raises `MlflowException: Changing param values is not allowed`, hours into a
    training job. When it does not change, every iteration after the first is a wasted
    request and database transaction. Tags are mutable, so a tag set in a loop is rewritten
    with one request per iteration and only the last value is kept. When the key changes with
    each iteration, collect the items into a dict and log them with one `log_params` /
    `set_tags` call after the loop.

    ## Fix safety
    No automatic fix: whether to log once before the loop, log a metric with a step instead,
    or batch the items depends on intent.

    ## Not flagged
    {once_per_run}

    A call under a test for a new best (`if score > best_score: mlflow.log_param("best_trial",
    trial)`): it runs when a result improves, a few times over a search.

    A loop that calls a helper whose own loop is reported for the same call (`for trial in
    trials: log_config(trial)` where `log_config` logs each item in a loop): one problem,
    reported at the helper's loop, where the batch goes.

    A client call whose run changes with each iteration (`for run in runs:
    client.set_tag(run.info.run_id, ...)`, also through a name assigned in the loop): each
    iteration logs to another run, so nothing is overwritten and no param can conflict. Such a
    loop's request count is the batching rules' business (MLF104 for adjacent calls on one
    run, MLF105 for a mapping logged item by item), with a `log_batch` remedy. Loops that open
    a run per iteration: `with mlflow.start_run():` in the body, or `mlflow.start_run()` in it
    without `with` (also under an `if` or a `try`, when the body also ends the run), or
    `client.create_run(...)`, or a `with` of a context manager defined elsewhere and named for
    a run or for MLflow (`with tracker.start_run(name):`, `with self.run_context():`, `with
    plugins["MLFlowPlugin"]:`); a call in an `except` handler (a fallback that runs when the
    iteration's first attempt fails: `except MlflowException: log_param(key, str(value))`);
    a loop over a mapping's items that only logs them (MLF105); and a loop over a
    written-out iterable of three items or fewer (`for split in ("train", "test"):
    mlflow.log_param(f"{split}_rows", n)`): a fixed handful of requests. The same param
    logged again in such a loop is still reported: its second value raises.
    """

    code = "MLF106"
    name = "param-in-loop"
    summary = (
        "`log_param` / `set_tag` on every iteration of a loop: raises on a"
        " changed value, or wastes requests."
    )
    triggers = frozenset(UNBATCHED_PARAM | UNBATCHED_TAG)
    # a param logged again with a changed value raises in a loop of two too; the request
    # count of the other cases is decided in flag()
    counts_requests = False
    guards_items = True

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        return found.name in UNBATCHED_PARAM | UNBATCHED_TAG

    def requests_only(
        self, found: Optional[ApiCall], call: cst.Call, frames: list[LoopFrame]
    ) -> bool:
        """All but the same param logged on every iteration (its second value raises)."""
        if found is None or found.name not in UNBATCHED_PARAM:
            return True
        key = (fixes.bind_arguments(call, found.signature) or {}).get("key")
        loop_names = [n for frame in frames for n in fixes.loop_bound_names(frame.loop)]
        return key is None or fixes.uses_names(key.value, loop_names)

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        what = f"`{via}`" if via else f"`{found.qualname}`"
        where = self.loops_phrase(frames)
        bound = fixes.bind_arguments(call, found.signature) or {}
        key = bound.get("key")
        loop_names = [n for frame in frames for n in fixes.loop_bound_names(frame.loop)]
        varying_key = key is not None and fixes.uses_names(key.value, loop_names)
        param = found.name in UNBATCHED_PARAM
        if (via or varying_key or key is None or not param) and all(
            self.ctx.fixed_handful(frame.loop) for frame in frames
        ):
            return  # requests only, and a written-out handful of them
        if found.is_client:
            run = self.ctx.code(bound["run_id"].value) if "run_id" in bound else "run_id"
            client = (
                self.ctx.code(call.func.value) if type(call.func) is cst.Attribute else "client"
            )
            kind = "params" if param else "tags"
            batch = f"`{client}.log_batch({run}, {kind}=[...])`"
        else:
            batch = f"`mlflow.{'log_params' if param else 'set_tags'}(items)`"
        if via:  # the key is the helper's to say: both remedies
            self.report(
                node,
                f"{what} {where}: one request per iteration",
                help=(
                    "If the key changes with each item, collect the items and log them once "
                    f"after the loop with {batch}; if it does not, log it once, outside the loop"
                ),
            )
            return
        calls = f"`{found.qualname}` calls {where}"
        group = (found.qualname, id(frames[0].loop))
        if varying_key or key is None:
            self.report_adjacent(
                node,
                ("per item", *group),
                lambda n: (
                    f"{what} {where} sends one request per item"
                    if n == 1
                    else f"{n} {calls} send {n} requests per item"
                ),
                lambda n: (
                    f"Collect the items into a dict and log them once after the loop with {batch}"
                ),
            )
        elif param:
            if DuplicateParamKey.code in self.ctx.enabled and changes_in_loop(
                self.ctx, call, found
            ):
                return  # a certain error: MLF301 says so, one finding for one problem
            self.report_adjacent(
                node,
                ("same param", *group),
                lambda n: (
                    f"{what} {where} logs the same param on every iteration"
                    if n == 1
                    else f"{n} {calls} log the same params on every iteration"
                ),
                lambda n: (
                    "Params are immutable: a changed value raises 'Changing param values is not "
                    "allowed' on the second iteration, an unchanged one wastes a request. "
                    + (
                        "Log it once before the loop, or log a changing value as a metric with "
                        "`step=`"
                        if n == 1
                        else f"Log them once before the loop (one {batch}), or log changing "
                        "values as metrics with `step=`"
                    )
                ),
            )
        else:
            self.report_adjacent(
                node,
                ("same tag", *group),
                lambda n: (
                    f"{what} {where} sets the same tag on every iteration"
                    if n == 1
                    else f"{n} {calls} set the same tags on every iteration"
                ),
                lambda n: (
                    "Each iteration overwrites the tag with one request and only the last value "
                    "is kept: set it once after the loop"
                    if n == 1
                    else "Each iteration overwrites the tags with one request each and only the "
                    f"last values are kept: set them once after the loop (one {batch})"
                ),
            )
