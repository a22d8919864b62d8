"""Base for rules about MLflow calls made on every iteration of a loop: directly, or through
functions defined in the same module that the loop calls (to a bounded depth)."""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint.context import LoopFrame
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rule import Rule
from mlflow_lint.rules.per_item_loop import mapping_loop


def _same_run_frames(found: ApiCall, call: cst.Call, frames: list[LoopFrame]) -> list[LoopFrame]:
    """Frames up to the first loop that changes the client call's run: `for run_id in ids:
    client.set_tag(run_id, ...)` (or `for run in runs: rid = run.info.run_id; ...`) logs to
    a different run on each iteration."""
    bound = fixes.bind_arguments(call, found.signature) or {}
    run_id = bound.get("run_id")
    if run_id is None:
        return frames
    kept = []
    for frame in frames:
        if fixes.uses_names(run_id.value, fixes.loop_bound_names(frame.loop)):
            break
        kept.append(frame)
    return kept


class LoopCallRule(Rule):
    # Whether `if step % N == 0:` guards still count (they do for correctness rules).
    include_throttled: ClassVar[bool] = False
    # Whether a client call whose run id comes from the loop counts only within one run (true
    # for writes: each iteration logs to another run; false for reads: that is the N+1).
    same_run_only: ClassVar[bool] = True

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        raise NotImplementedError

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        """Report: `node` is the call in the loop; `call` the MLflow call (the same node, or
        one inside a helper reached through `via`, e.g. "train_epoch -> log_stats")."""
        raise NotImplementedError

    def setup(self) -> None:
        # calls of local functions, decided in finish(): a helper defined further down the
        # file is summarised only once the walk reaches it
        self._helper_calls: list[tuple[cst.Call, list[LoopFrame]]] = []
        self._flagged: set[int] = set()

    def frames(self, node: cst.CSTNode) -> list[LoopFrame]:
        return [
            frame
            for frame in self.ctx.loops(node)
            if not frame.at_most_once
            and (self.include_throttled or not frame.throttled)
            and mapping_loop(self.ctx, frame.loop) is None  # MLF105's business
        ]

    def visit_Call(self, node: cst.Call) -> None:
        found = self.ctx.api_call(node)
        if found is not None and not self.wanted(found, node):
            return
        if found is None and not self.ctx.callee_is_local(node):
            return
        frames = self.frames(node)
        if found is not None and found.is_client and self.same_run_only:
            frames = _same_run_frames(found, node, frames)
        if not frames:
            return
        if found is not None:
            self._flagged.add(id(node))
            self.flag(node, found, node, frames, "")
        else:
            self._helper_calls.append((node, frames))

    def finish(self) -> None:
        for node, frames in self._helper_calls:
            reached = self.ctx.helper_call(
                node, lambda found, call: self.wanted(found, call) and id(call) not in self._flagged
            )
            if reached is not None:
                found, call, chain = reached
                self.flag(node, found, call, frames, f"{chain} -> {found.qualname}")

    def loops_phrase(self, frames: list[LoopFrame]) -> str:
        if len(frames) == 1:
            return "in a loop"
        loops = " > ".join(self.ctx.loop_label(f.loop) for f in reversed(frames))
        return f"{len(frames)} loops deep ({loops})"
