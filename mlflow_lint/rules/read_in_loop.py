from __future__ import annotations

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import LoopFrame, iter_children
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rules.loop_calls import LoopCallRule


class TrackingReadInLoop(LoopCallRule):
    """
    ## What it does
    Flags read-path tracking calls (`get_run`, `search_runs`, `get_experiment_by_name`,
    `set_experiment`, `MlflowClient.get_metric_history` and every other `MlflowClient.get_*`)
    made on every iteration of a loop over a collection (a `for` loop or a comprehension).
    Not flagged: pagination loops (the call passes a `page_token`), polling loops that sleep
    between calls, and loops whose body runs at most once.

    ## Why is this bad
    Each call is one request and one database query: the N+1 pattern. Looping `get_run` over
    100 run ids is 100 round trips (measured: 10 `get_run` calls made 10 GET requests), and
    `set_experiment` does a lookup on every call. Read load like this is what makes tracking
    databases need read replicas. Fetch what you need in one query: for runs, one
    `mlflow.search_runs(filter_string="attributes.run_id IN ('a', 'b')",
    search_all_experiments=True)`; hoist `set_experiment` and `get_experiment_by_name` out of
    the loop.

    ## Fix safety
    No automatic fix: the single query returns a different shape (a DataFrame or a list of
    runs) that the loop body has to be adapted to.
    """

    code = "MLF201"
    name = "tracking-read-in-loop"
    summary = (
        "A tracking read (`get_run`, `search_runs`, `MlflowClient.get_*`) per"
        " loop iteration: N+1 requests."
    )
    triggers = api.FLUENT_READS | api.CLIENT_READS
    same_run_only = False

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        if not api.is_read(found):
            return False
        return not any(
            arg.keyword is not None and arg.keyword.value == "page_token" for arg in call.args
        )

    def frames(self, node: cst.CSTNode) -> list[LoopFrame]:
        return [
            frame
            for frame in super().frames(node)
            if not isinstance(frame.loop, cst.While) and not _sleeps(frame.loop)
        ]

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        what = f"`{via}`" if via else f"`{found.qualname}`"
        advice = "fetch what the loop needs in one query before it"
        if found.name == "get_run" and not via:
            loop = frames[0].loop
            bound = fixes.bind_arguments(call, found.signature) or {}
            run_id = bound.get("run_id")
            if (
                isinstance(loop, cst.For)
                and run_id is not None
                and isinstance(run_id.value, cst.Name)
                and run_id.value.value in fixes.target_names(loop.target)
            ):
                advice = (
                    "fetch all the runs in one query: `mlflow.search_runs(filter_string="
                    "\"attributes.run_id IN ('id1', 'id2')\", search_all_experiments=True)`"
                )
        elif found.name in ("set_experiment", "get_experiment_by_name"):
            advice = "call it once before the loop"
        self.report(
            node,
            f"{what} {self.loops_phrase(frames)} makes one tracking request and database query "
            f"per iteration (N+1); {advice}",
        )


def _sleeps(loop: cst.CSTNode) -> bool:
    """A polling loop: its body calls `sleep(...)`."""
    todo: list[cst.CSTNode] = [loop]
    while todo:
        node = todo.pop()
        if isinstance(node, cst.Call):
            func = node.func
            name = (
                func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
            )
            if name == "sleep":
                return True
        todo.extend(iter_children(node))
    return False
