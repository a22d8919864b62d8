from __future__ import annotations

import libcst as cst

from mlflow_lint import mlflow_api as api

from mlflow_lint import fixes
from mlflow_lint.context import LoopFrame
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rules.loop_calls import LoopCallRule



class SmallArtifactsInLoop(LoopCallRule):
    """
    ## What it does
    Flags `log_text`, `log_dict`, `log_figure`, `log_table` and `log_image` without `step`
    (fluent or `MlflowClient`) on every iteration of a loop that does not open its own run.
    `log_image(key=..., step=...)`, MLflow's stepped image API, is not flagged.

    ## Why is this bad
    Each call writes a temporary file and uploads it as its own artifact: one upload request
    (and, for the first artifact of a run, a `get_run`) per iteration, and a run cluttered
    with hundreds of tiny files. `log_table` is worse: every call lists the run's artifacts,
    downloads the existing table, appends and re-uploads it, so a loop with the same
    `artifact_file` is quadratic in bytes (measured: 3 calls made 23 requests). Collect the
    rows or values in a list or dict and log one table or one dict after the loop.

    ## Fix safety
    No automatic fix: the shape of the combined artifact is a choice.
    """

    code = "MLF109"
    name = "small-artifacts-in-loop"
    summary = (
        "`log_text` / `log_dict` / `log_figure` / `log_table` / `log_image` on"
        " every iteration of a loop."
    )
    triggers = api.SMALL_ARTIFACTS

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        if found.name not in api.SMALL_ARTIFACTS:
            return False
        if found.name == "log_image":
            bound = fixes.bind_arguments(call, found.signature)
            return bound is not None and "step" not in bound and "key" not in bound
        return True

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        what = f"`{via}`" if via else f"`{found.qualname}`"
        where = self.loops_phrase(frames)
        bound = fixes.bind_arguments(call, found.signature) or {}
        artifact_file = bound.get("artifact_file")
        loop_names = fixes.loop_target_names(frames)
        same_file = artifact_file is not None and not fixes.uses_names(
            artifact_file.value, loop_names
        )
        if found.name == "log_table" and same_file:
            message = (
                f"{what} {where} appends to the same table file: each call downloads the whole "
                "table, appends and re-uploads it, so the cost grows quadratically; collect the "
                "rows in a list and call `mlflow.log_table()` once after the loop"
            )
        else:
            message = (
                f"{what} {where} uploads one small artifact per iteration; collect the values "
                "in a dict or table and log it once after the loop (`mlflow.log_dict()` / "
                "`mlflow.log_table()`), or use `mlflow.log_image(image, key=..., step=...)` "
                "for images"
            )
        self.report(node, message)
