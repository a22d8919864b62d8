from __future__ import annotations

from typing import Callable, Optional

import libcst as cst

from mlflow_lint import fixes, frequency
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import LoopFrame, uses_names
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rules.artifact_upload import (
    MAX_LITERAL_ITEMS,
    derived_names,
    iterates_mapping,
    literal_items,
    picked_once,
)
from mlflow_lint.rules.loop_calls import LoopCallRule, documents_paced

# What to do instead, by call: `{call}` is the call in the code's own spelling.
_REMEDIES = {
    "log_dict": "Collect the values in one dict and log it once after the loop with `{call}`.",
    "log_text": (
        "Collect the texts and log them once after the loop, as one `{call}` or as the rows"
        " of one `{table}`."
    ),
    "log_table": "Collect the rows in one table and log it once after the loop with `{call}`.",
}


@frequency.documents_once_per_run
@documents_paced
class SmallArtifactsInLoop(LoopCallRule):
    """
    ## What it does
    Flags `log_text`, `log_dict` and `log_table` (fluent or `MlflowClient`) on every
    iteration of a loop that does not open its own run,
    when the loop makes a new small artifact on each iteration: its name is a template of the
    loop variable (`f"summaries/epoch_{epoch}.json"`, `"sample_%d.txt" % i`,
    `os.path.join("rows", f"{row_id}.json")`). Also flags `log_table` called with the same
    `artifact_file` on every iteration (it appends), whatever the loop.

    ## Why is this bad
    Each call writes a temporary file and uploads it as its own artifact: one upload request
    per iteration, and a run cluttered with hundreds of tiny files. `log_table` is worse:
    every call reads the run's existing table back, appends the new rows and uploads the whole
    table again, so a loop over the same `artifact_file` is quadratic in bytes. Collect the
    rows or values and log one table or one dict after the loop.

    ## Fix safety
    No automatic fix: the shape of the combined artifact is a choice.

    ## Not flagged
    {once_per_run}

    {paced}

    - A fixed set of distinct named artifacts: a loop over the items of a mapping
      (`for name, report in reports.items(): mlflow.log_dict(report, f"{name}.json")`) or over a
      literal collection of at most three items, and a name that is the loop's item itself
      or looked up from it (`file.name`, `names[key]`) rather than a template. Each such
      artifact is its own document; merging them into one dict would make them harder to
      read, for a handful of requests.
    - A name that does not change with the loop (`mlflow.log_dict(state, "state.json")` on
      each epoch): the run keeps the latest version, like a checkpoint, and only `log_table`
      appends (flagged above).
    - `log_figure` and `log_image`, whatever the loop: a figure or an image is a document of
      its own (a plot per class, a prediction per sample), with nothing to merge it into. A
      folder of them uploaded once with `log_artifacts` still takes one request per file on
      an `mlflow server`, S3, GCS and Azure Blob, and MLflow's stepped image API
      (`log_image(key=..., step=...)`) uploads one image per call too: no advice would cut
      the requests without dropping figures.
    - A call on one iteration only: under an `if` that picks one entry (`if name ==
      "summary":`), or followed by `break` or `return`.
    """

    code = "MLF109"
    name = "small-artifacts-in-loop"
    summary = "`log_text` / `log_dict` / `log_table` on every iteration of a loop."
    triggers = api.MERGEABLE_ARTIFACTS

    def frames(self, node: cst.CSTNode) -> list[LoopFrame]:
        return [f for f in super().frames(node) if not picked_once(self.ctx, node, f.loop)]

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        return found.name in api.MERGEABLE_ARTIFACTS

    def requests_only(
        self, found: Optional[ApiCall], call: cst.Call, frames: list[LoopFrame]
    ) -> bool:
        # a table appended to is read back and uploaded whole on each call: its cost grows
        # with the square of the rows, whatever the loop and however often it runs
        return found is None or found.name not in api.APPENDING_ARTIFACTS

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        what = f"`{via}`" if via else f"`{found.qualname}`"
        where = self.loops_phrase(frames)
        bound = fixes.bind_arguments(call, found.signature) or {}
        artifact = bound.get("artifact_file")
        if artifact is None:
            return  # arguments we cannot bind
        spelled = _spelled(self.ctx.code, call, found)
        if found.name in api.APPENDING_ARTIFACTS and self._same_file(
            node, artifact.value, frames, via
        ):
            self.report(
                node,
                f"{what} {where} appends to one file: each call downloads and re-uploads it",
                help=f"Collect the rows and log the table once after the loop with `{spelled}`.",
            )
            return
        if not self._new_artifact_per_iteration(node, artifact.value, frames, via):
            return
        self.report(
            node,
            f"{what} {where} uploads one small artifact per iteration",
            help=_REMEDIES[found.name].format(
                call=spelled,
                table=_spelled(self.ctx.code, call, found, "log_table"),
            ),
        )

    def _same_file(
        self, node: cst.Call, artifact: cst.BaseExpression, frames: list[LoopFrame], via: str
    ) -> bool:
        if via:  # in a helper: only a name that is fixed there is the same on every call
            return fixes.literal_string(artifact) is not None
        return not uses_names(artifact, self._loop_names(frames))

    def _new_artifact_per_iteration(
        self, node: cst.Call, artifact: cst.BaseExpression, frames: list[LoopFrame], via: str
    ) -> bool:
        """A name made from the loop variable on each iteration, in a loop that is not over a
        fixed set of named things."""
        for frame in frames:
            loop = frame.loop
            if type(loop) is not cst.For:
                continue
            names = derived_names(self.ctx, loop, set(fixes.target_names(loop.target)))
            if via:
                varies = fixes.literal_string(artifact) is None and any(
                    _is_template(arg.value) and uses_names(arg.value, names) for arg in node.args
                )
            else:
                varies = uses_names(artifact, names) and _is_template(artifact)
            if not varies:
                continue
            count = literal_items(loop.iter)
            small = count is not None and count <= MAX_LITERAL_ITEMS
            return not (iterates_mapping(loop.iter) or small)
        return False

    def _loop_names(self, frames: list[LoopFrame]) -> frozenset[str]:
        names: set[str] = set()
        for frame in frames:
            if type(frame.loop) is cst.For:
                targets = set(fixes.target_names(frame.loop.target))
                names |= derived_names(self.ctx, frame.loop, targets)
            else:
                names |= set(fixes.loop_target_names([frame]))
        return frozenset(names)


def _is_template(node: cst.BaseExpression) -> bool:
    """A name built from parts (`f"epoch_{e}.json"`, `"s_%d" % i`, `"{}.txt".format(i)`,
    `os.path.join("rows", name)`, `base / name`), not the value itself or a lookup."""
    if isinstance(node, (cst.FormattedString, cst.ConcatenatedString, cst.BinaryOperation)):
        return True
    return (
        type(node) is cst.Call
        and type(node.func) is cst.Attribute
        and node.func.attr.value in ("format", "join")
    )


def _spelled(
    code: Callable[[cst.CSTNode], str], call: cst.Call, found: ApiCall, name: str = ""
) -> str:
    """A call of `name` (default: the call's own) as the code spells its receiver:
    `mlflow.log_dict(...)`, `self.client.log_dict(run_id, ...)`."""
    receiver = code(call.func.value) if type(call.func) is cst.Attribute else "mlflow"
    function = f"{receiver}.{name or found.name}"
    return f"{function}(run_id, ...)" if found.is_client else f"{function}(...)"
