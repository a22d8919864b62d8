from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import COMPREHENSION_TYPES, FileContext, LoopFrame, iter_children
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rules.loop_calls import LoopCallRule

_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_EXPERIMENT_LOOKUPS = ("set_experiment", "get_experiment_by_name")


class TrackingReadInLoop(LoopCallRule):
    """
    ## What it does
    Flags read-path tracking calls (`get_run`, `search_runs`, `get_experiment_by_name`,
    `set_experiment`, `MlflowClient.get_metric_history` and every other `MlflowClient.get_*`)
    made on every iteration of a loop (a `for` or `while` loop, or a comprehension), directly
    or through functions defined in the same module. Not flagged:

    - pagination: the call passes `page_token=` a name or attribute that the loop assigns
      (`token = page.token`), so each request fetches the next page; or a parameter of the
      function making the call, which its caller may advance. A `page_token` the loop never
      advances (`page_token=None`) does not exempt the call;
    - polling: the loop calls `sleep(...)` between requests;
    - loops whose body runs at most once: an unconditional `break`, `return` or `raise`
      follows the call, or the call is in that `return` or `raise` (`for rid in ids: return
      client.get_run(rid)`);
    - calls guarded by `if step % N == 0:` (and other throttles): they do not run on every
      iteration.

    ## Why is this bad
    Each call is one request and one database query: the N+1 pattern. Looping `get_run` over
    100 run ids is 100 round trips (measured: 10 `get_run` calls made 10 GET requests), and
    `set_experiment` does a lookup on every call. Read load like this is what makes tracking
    databases need read replicas. Fetch what you need in one query: for runs, one
    `mlflow.search_runs(filter_string="attributes.run_id IN ('a', 'b')",
    search_all_experiments=True)`. Hoist a `set_experiment` or `get_experiment_by_name` whose
    argument does not change out of the loop. When the loop looks up a different experiment
    name on each iteration, fetch them all with one `mlflow.search_experiments()` call and
    pick them by name: its `filter_string` has no `name IN (...)` (only `experiment_id`
    supports a list), and conditions can only be joined with `AND`.

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

    def setup(self) -> None:
        super().setup()
        # id(call) -> whether a loop advances its page_token, decided during the walk (calls in
        # helpers are checked again after it, when their ancestors are gone)
        self._paginated: dict[int, bool] = {}

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        if not api.is_read(found):
            return False
        paginated = self._paginated.get(id(call))
        if paginated is None:
            paginated = self._paginated[id(call)] = _advances_page_token(self.ctx, call)
        return not paginated

    def frames(self, node: cst.CSTNode) -> list[LoopFrame]:
        return [frame for frame in super().frames(node) if not _sleeps(frame.loop)]

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
        elif found.name in _EXPERIMENT_LOOKUPS:
            # in a helper, what varies is what the loop passes to the helper
            at_loop = node if via else call
            varying = _varying_names(frames)
            if any(fixes.uses_names(arg.value, varying) for arg in at_loop.args):
                search = (
                    "MlflowClient().search_experiments()"
                    if found.is_client
                    else "mlflow.search_experiments()"
                )
                advice = (
                    f"fetch the experiments with one `{search}` call before the loop and pick "
                    "them by name (its filter_string has no `name IN (...)`)"
                )
                if found.name == "set_experiment":
                    advice += ", then pass `experiment_id=` to `mlflow.start_run`"
            else:
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


def _advances_page_token(ctx: FileContext, call: cst.Call) -> bool:
    """A pagination call: its `page_token=` is a name (or attribute) that a loop running the
    call assigns, or a parameter of the function making the call (its caller may advance it).
    Call during the walk, at the call."""
    token = next(
        (
            arg.value
            for arg in call.args
            if arg.keyword is not None and arg.keyword.value == "page_token"
        ),
        None,
    )
    spelled = _spelling(token) if token is not None else None
    if token is None or spelled is None:
        return False
    root = spelled.split(".", 1)[0]
    for frame in ctx.loops(call):
        assigned = _assigned_in(frame.loop)
        if spelled in assigned or root in assigned:
            return True
    scope = ctx.enclosing(*_SCOPES)
    if isinstance(token, cst.Name) and isinstance(scope, (cst.FunctionDef, cst.Lambda)):
        params = scope.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                every.append(star)
        return any(param.name.value == token.value for param in every)
    return False


def _spelling(node: cst.BaseExpression) -> Optional[str]:
    """`token`, `page.token`, `self.state.token`; None for other expressions."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _spelling(node.value)
        return f"{base}.{node.attr.value}" if base is not None else None
    return None


def _assigned_in(loop: cst.CSTNode) -> set[str]:
    """Names and attributes (`self.token`) the loop's body binds on an iteration (its own
    `for` target excluded; in a comprehension, only `:=` binds)."""
    if isinstance(loop, cst.For):
        roots: list[cst.CSTNode] = [loop.body]
    elif isinstance(loop, cst.While):
        roots = [loop.test, loop.body]
    else:
        roots = [loop]
    bound: set[str] = set()
    todo = roots
    while todo:
        node = todo.pop()
        if isinstance(node, _SCOPES):
            continue
        targets: Iterable[cst.BaseExpression] = ()
        if isinstance(node, cst.Assign):
            targets = [target.target for target in node.targets]
        elif isinstance(node, (cst.AugAssign, cst.NamedExpr, cst.For)) or (
            isinstance(node, cst.AnnAssign) and node.value is not None
        ):
            targets = [node.target]
        elif isinstance(node, cst.With):
            targets = [item.asname.name for item in node.items if item.asname is not None]
        for target in targets:
            bound.update(_bound_by(target))
        todo.extend(iter_children(node))
    return bound


def _bound_by(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _bound_by(element.value)]
    if isinstance(target, cst.StarredElement):
        return _bound_by(target.value)
    spelled = _spelling(target)
    return [spelled] if spelled is not None else []


def _varying_names(frames: list[LoopFrame]) -> set[str]:
    """Names that can change from one iteration to the next of one of the loops: their
    targets and the names their bodies assign."""
    names: set[str] = set()
    for frame in frames:
        loop = frame.loop
        if isinstance(loop, cst.For):
            names.update(fixes.target_names(loop.target))
        elif isinstance(loop, COMPREHENSION_TYPES):
            comp: Optional[cst.CompFor] = loop.for_in
            while comp is not None:
                names.update(fixes.target_names(comp.target))
                comp = comp.inner_for_in
        names.update(name for name in _assigned_in(loop) if "." not in name)
    return names
