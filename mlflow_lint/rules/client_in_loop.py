from __future__ import annotations

from typing import Optional, Union

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import LoopFrame, iter_children
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, RuleOption, Safety
from mlflow_lint.rules.read_in_loop import (
    RULE_KEY,
    TrackingReadInLoop,
    echo_sites,
    public_mlflow_function,
)

Loop = Union[cst.For, cst.While]
_BINDERS = (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.NamedExpr)


class ClientInLoop(Rule):
    """
    ## What it does
    Off by default (a style hint); enable it with `--select MLF202`. Flags `MlflowClient(...)`
    constructed on every iteration of a loop. With the option
    `through-helpers = true`, also a function defined in the same module that builds one and
    that the loop calls (reported at that call, naming the chain; no fix: create the client
    once and pass it in).

    ## Why is this bad
    Construction sends no request by itself (MLflow caches stores per tracking URI; measured
    at ~0.1 ms), but every construction re-resolves the tracking and registry URIs and looks
    the store up again, and it usually signals per-item tracking calls nearby. Older MLflow
    versions rebuilt the SQLAlchemy engine each time (reusing one client was measured ~5x
    faster). Create the client once, before the loop.

    Why it is off by default: with MLflow's store cache (up to 100 tracking URIs) a
    construction sends no request, and on real code every loop that built a client also
    sent a tracking request of its own on each iteration, next to which the construction is
    incidental: none of those findings was worth acting on. The rules about those requests
    report them: MLF101-MLF106, MLF108 and MLF109 by default, MLF201 (reads) when selected.

    ## Fix safety
    Safe where the client is assigned to a name (`client = MlflowClient(uri)`) in a statement
    of its own directly in the loop body, its arguments are loop-invariant names or literals,
    the name is neither assigned again in the loop nor read in it before the assignment (the
    loop's header, an earlier statement), and the loop does not change the tracking URI: the
    statement moves above the loop (and, fixed again, above enclosing loops). The
    only difference: a loop that runs zero times now builds one client.

    ## Not flagged
    Loops where the construction is incidental:
    - loops over a written-out list, tuple, set or dict of three items or fewer (`for key
      in ("team", "owner"):`): a fixed handful of constructions (`range(3)` is flagged: in
      real code a range's bound is rarely that small, in examples it stands for any);
    - polling and interactive loops, which wait on each iteration (`time.sleep`,
      `event.wait(...)`, `queue.get(timeout=...)`, `input()`, `click.prompt(...)`);
    - loops over size-capped chunks of one collection (`for i in range(0, len(items),
      1000)` slicing `items[i : i + 1000]`, `for part in chunked(items, 100)`): a handful
      of iterations, each sending a whole batch;
    - a client built only on one iteration (after it the loop ends, or under `if i ==
      best:` or a first-time guard such as `if self._client is None:`);
    - a helper that builds a client only when the caller passes none (`if client is None:
      client = MlflowClient()`), called with one;
    - inside the `mlflow` package's own source, calls of its public functions: their users
      cannot pass a client into `mlflow.get_experiment_by_name`;
    - by default, clients built by helper functions the loop calls: such a helper sends
      tracking requests of its own on every call (downloads, searches, writes), next to which
      building the client (0 requests, ~0.1 ms) is incidental, and the remedy, giving the
      helper a client parameter, changes its signature. On real code none of these findings
      was worth that change; `through-helpers = true` reports them. Even then: a helper that
      also reads in the loop where MLF201 reports it is left to MLF201, whose finding names
      the client too (one problem, one finding); and a client already reported inside a loop
      of the helper is not reported again at the loops that call the helper.
    """

    code = "MLF202"
    name = "client-in-loop"
    summary = "`MlflowClient()` constructed on every iteration of a loop (opt-in)."
    triggers = frozenset({"MlflowClient"})
    fix_safety = Safety.SAFE
    default_enabled = False
    options = {
        "through-helpers": RuleOption(
            bool,
            False,
            "Also report clients built by functions of the same module that a loop calls on "
            "every iteration.",
        )
    }

    def setup(self) -> None:
        self._helper_calls: list[cst.Call] = []  # local functions called on every iteration
        self._reported: set[int] = set()  # constructions reported where they are

    def visit_Call(self, node: cst.Call) -> None:
        found = self.ctx.api_call(node)
        if found is None:
            if (
                self.option_values["through-helpers"]
                and self.ctx.callee_is_local(node)
                and self._per_iteration(node)
            ):
                self._helper_calls.append(node)  # decided in finish(), once helpers are known
            return
        if found.is_client or found.name != api.CLIENT:
            return
        frames = self._per_iteration(node)
        if not frames:
            return
        loop = frames[0].loop
        fix = self._hoist(loop, node) if isinstance(loop, (cst.For, cst.While)) else None
        self._reported.add(id(node))
        self.report(
            node,
            "`MlflowClient()` is constructed on every iteration of this loop",
            help="Create the client once before the loop and reuse it",
            fix=fix,
        )

    def _per_iteration(self, node: cst.Call) -> list[LoopFrame]:
        ctx = self.ctx
        return [
            frame
            for frame in ctx.loops(node)
            if not frame.at_most_once
            and not ctx.paced(frame.loop)
            and not ctx.fixed_handful(frame.loop)
            and not ctx.iterates_chunks(frame.loop)
        ]

    def finish(self) -> None:
        """Clients built by helpers defined in this module, called on every iteration."""
        reads: Optional[TrackingReadInLoop] = self.ctx.memo(RULE_KEY, lambda: None)
        sites: dict[int, tuple[cst.Call, int]] = {}
        chains: dict[int, str] = {}
        for call in self._helper_calls:
            if public_mlflow_function(self.ctx, call, reads=True):
                continue  # its callers cannot pass it a client
            reached = self.ctx.helper_call(
                call,
                lambda found, node: _builds_client(found, node) and id(node) not in self._reported,
                own_runs=True,
            )
            if reached is None:
                continue
            if reads is not None and reads.helper_finding(call) is not None:
                continue  # MLF201 reports this call, and names the client
            sites[id(call)] = (call, id(reached[1]))
            chains[id(call)] = reached[2]
        echoes = echo_sites(self.ctx, sites)
        for key, (call, _) in sites.items():
            if key not in echoes:
                self.report(
                    call,
                    f"`{chains[key]}` constructs an `MlflowClient()` on every iteration of this "
                    "loop",
                    help="Create the client once before the loop and pass it in",
                )

    def _hoist(self, loop: Loop, call: cst.Call) -> Optional[PendingFix]:
        statement = _assignment_in_body(loop, call)
        if statement is None:
            return None
        assign = statement.body[0]
        assert type(assign) is cst.Assign
        target = assign.targets[0].target
        assert type(target) is cst.Name
        bound_in_loop = _names_bound_in(loop)
        if any(
            fixes.uses_names(arg.value, bound_in_loop) or not _invariant(arg.value)
            for arg in call.args
        ):
            return None
        if _assignments_to(loop, target.value) > 1 or self._changes_uri(loop):
            return None
        if _used_before(loop, statement, target.value):
            return None  # the first iteration would see another client (or none) there
        remaining = [s for s in loop.body.body if s is not statement] or [
            cst.SimpleStatementLine([cst.Pass()])
        ]
        new_loop = loop.with_changes(leading_lines=(), body=loop.body.with_changes(body=remaining))
        content = (
            self.ctx.code(statement).rstrip("\r\n") + "\n" + self.ctx.code(new_loop).rstrip("\r\n")
        )
        return PendingFix(
            f"Move `{target.value} = MlflowClient(...)` above the loop",
            Safety.SAFE,
            [NodeEdit(loop, loop, _dedent_first(content))],
        )

    def _changes_uri(self, loop: Loop) -> bool:
        todo: list[cst.CSTNode] = [loop]
        while todo:
            node = todo.pop()
            if type(node) is cst.Call:
                found = self.ctx.api_call(node)
                if found is not None and found.name in api.URI_SETTERS:
                    return True
            todo.extend(iter_children(node))
        return False


def _used_before(loop: Loop, statement: cst.BaseStatement, name: str) -> bool:
    """Whether `name` is read in the loop before the assignment `statement` runs: in the
    loop's header (`for r in client.search_runs(...)`, a while test) or an earlier statement
    of its body."""
    header = loop.iter if isinstance(loop, cst.For) else loop.test
    if fixes.uses_names(header, [name]):
        return True
    assert type(loop.body) is cst.IndentedBlock
    for earlier in loop.body.body:
        if earlier is statement:
            return False
        if fixes.uses_names(earlier, [name]):
            return True
    return False


def _builds_client(found: ApiCall, call: cst.Call) -> bool:
    return not found.is_client and found.name == api.CLIENT


def _assignment_in_body(loop: Loop, call: cst.Call) -> Optional[cst.SimpleStatementLine]:
    if type(loop.body) is not cst.IndentedBlock:
        return None
    for statement in loop.body.body:
        if (
            type(statement) is cst.SimpleStatementLine
            and len(statement.body) == 1
            and type(statement.body[0]) is cst.Assign
            and statement.body[0].value is call
            and len(statement.body[0].targets) == 1
            and type(statement.body[0].targets[0].target) is cst.Name
        ):
            return statement
    return None


def _invariant(node: cst.BaseExpression) -> bool:
    """Names, attributes of names, and literals: what the issue calls loop-invariant arguments."""
    if isinstance(
        node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)
    ):
        return True
    return type(node) is cst.Attribute and _invariant(node.value)


def _names_bound_in(loop: Loop) -> list[str]:
    names = fixes.target_names(loop.target) if isinstance(loop, cst.For) else []
    todo: list[cst.CSTNode] = [loop.body]
    while todo:
        node = todo.pop()
        if isinstance(node, _BINDERS):
            names += fixes.target_names(node.target)
        todo.extend(iter_children(node))
    return names


def _assignments_to(loop: Loop, name: str) -> int:
    return _names_bound_in(loop).count(name)


def _dedent_first(content: str) -> str:
    """The hoisted statement is rendered with its leading comment lines at column 0."""
    return content.lstrip(" \t")
