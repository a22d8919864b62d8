from __future__ import annotations

from typing import Optional

import libcst as cst

from mlflow_lint import mlflow_api as api
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, Safety
from mlflow_lint.rules.lifecycle import (
    SCOPES,
    active_run_names,
    calls_in,
    has_keyword,
    is_fluent,
    start_run_call,
    tests_active_run,
)


class StartRunWhileActive(Rule):
    """
    ## What it does
    Flags `mlflow.start_run()` without `nested=True` where a run is already active: inside a
    `with mlflow.start_run():` block of the same function, or in a loop whose body starts a
    run without ending it (no `with`, no `mlflow.end_run()` in the loop), directly or through
    a function defined in the same module (reported at the loop's call of it, naming the
    chain).

    ## Why is this bad
    MLflow raises `Exception: Run with UUID ... is already active. To start a new run, first
    end the current run with mlflow.end_run(). To start a nested run, call start_run with
    nested=True` (a plain `Exception`, not an `MlflowException`, so `except MlflowException`
    does not catch it). In a loop it happens on the second iteration, after the first one's
    work is done.

    ## Fix safety
    Unsafe: inside an active run, where the intent is a child run, the fix adds `nested=True`.
    It changes what is stored (a child run under the parent instead of a crash) and whether
    the intent was a child run is yours to confirm. Loops get no fix: end the run in each
    iteration (`with mlflow.start_run():`).

    ## Not flagged
    `start_run(nested=True)`; a `start_run` after the active run's block closed; a loop whose
    body ends the run it starts (`with mlflow.start_run():`, or `mlflow.end_run()` in the
    loop); a `start_run` followed by an unconditional `break`, `return` or `raise` of the
    loop (a retry loop that stops once the run is started: it starts one run); a helper whose
    `start_run()` the loop enters with `with` (`with start_child(name) as run:`: the `with`
    ends the run it returns on every iteration); a `start_run`
    in the loop under an `if` that tests the active run (`if mlflow.active_run() is None:`,
    or `active = mlflow.active_run()` then `if active is None:`): it starts a run only when
    none is active (a logging thread that resumes its run before each write).
    """

    code = "MLF303"
    name = "start-run-while-active"
    summary = (
        "`start_run()` while a run is active, without `nested=True`: raises"
        " 'Run ... is already active'."
    )
    triggers = frozenset({api.START_RUN})
    fix_safety = Safety.UNSAFE

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.callee_is_local(node):
            loop = self._enclosing_loop()
            if loop is not None and not self._entered_with(node):
                # a helper that may start a run: decided in finish()
                self._helper_calls.append((node, loop))
            return
        if not is_fluent(self.ctx, node, api.START_RUN) or has_keyword(node, "nested"):
            return
        if has_keyword(node, "parent_run_id"):
            return  # an explicit parent: the caller manages the hierarchy
        outer = self._active_run()
        if outer is not None:
            self.report(
                node,
                "`mlflow.start_run()` inside an active run raises 'Run ... is already active'",
                fix=self._nested_fix(node),
                help="Pass `nested=True` for a child run, or end the outer run first",
            )
            return
        loop = self._enclosing_loop()
        if loop is not None and not self.ctx.exits_loop_after(loop) and not self._guarded(loop):
            self._in_loops.append((node, loop))

    def setup(self) -> None:
        self._in_loops: list[tuple[cst.Call, cst.For | cst.While]] = []
        self._helper_calls: list[tuple[cst.Call, cst.For | cst.While]] = []

    def finish(self) -> None:
        # decided after the walk: the loop's end_run() comes after the start_run() call
        for call, loop in self._in_loops:
            if not self._ends_runs(loop):
                self.report(
                    call,
                    "`mlflow.start_run()` in a loop that never ends the run: the second iteration "
                    "raises",
                    help=(
                        "Use `with mlflow.start_run():` inside the loop, so each iteration's run "
                        "ends before the next starts ('Run ... is already active' otherwise)"
                    ),
                )
        for call, loop in self._helper_calls:
            reached = self.ctx.helper_call(call, _bare_start_run)  # `with` ones are left out
            if reached is not None and not self._ends_runs(loop):
                chain = reached[2]
                self.report(
                    call,
                    f"`{chain} -> mlflow.start_run()` in a loop that never ends the run: the "
                    "second iteration raises",
                    help=(
                        "Use `with mlflow.start_run():` in the helper, so each call's run ends "
                        "before the next starts ('Run ... is already active' otherwise)"
                    ),
                )

    def _ends_runs(self, loop: cst.For | cst.While) -> bool:
        """The loop body ends the run: `mlflow.end_run()`, directly or through a helper."""
        return any(
            is_fluent(self.ctx, call, api.END_RUN)
            or self.ctx.helper_call(call, _end_run, own_runs=True) is not None
            for call in calls_in(loop.body)
        )

    def _active_run(self) -> Optional[cst.With]:
        """The `with mlflow.start_run()` around the call, skipping the one it opens itself."""
        chain = self.ctx.ancestors
        for index in range(len(chain) - 1, -1, -1):
            node = chain[index]
            if isinstance(node, SCOPES):
                return None
            if type(node) is cst.With and start_run_call(self.ctx, node) is not None:
                child = chain[index + 1] if index + 1 < len(chain) else None
                if child is node.body:  # the call is inside the block, not its header
                    return node
        return None

    def _entered_with(self, node: cst.Call) -> bool:
        """`with start_child(name) as run:`: the run the helper returns is entered and ended
        by the `with`, on every iteration."""
        parent = self.ctx.ancestors[-1] if self.ctx.ancestors else None
        return type(parent) is cst.WithItem and parent.item is node

    def _guarded(self, loop: cst.For | cst.While) -> bool:
        """Under an `if` in the loop that tests the active run (`if mlflow.active_run() is
        None:`, or a name assigned it): a run is started only when none is, never twice."""
        chain = self.ctx.ancestors
        inside = chain[chain.index(loop) + 1 :]
        ifs = [node for node in inside if type(node) is cst.If]
        if not ifs:
            return False
        scope = next((n for n in reversed(chain) if isinstance(n, SCOPES)), self.ctx.module)
        names = active_run_names(self.ctx, scope)
        return any(tests_active_run(self.ctx, node.test, names) for node in ifs)

    def _enclosing_loop(self) -> Optional[cst.For | cst.While]:
        chain = self.ctx.ancestors
        for index in range(len(chain) - 1, -1, -1):
            node = chain[index]
            if isinstance(node, SCOPES):
                return None
            if type(node) is cst.With and start_run_call(self.ctx, node) is not None:
                return None  # the call is the with's own start_run: ended each iteration
            child = chain[index + 1] if index + 1 < len(chain) else None
            if isinstance(node, (cst.For, cst.While)) and child is node.body:
                return node  # in the loop's body, not its header (`for x in helper():`)
        return None

    def _nested_fix(self, call: cst.Call) -> PendingFix:
        no_space = cst.SimpleWhitespace("")
        nested = cst.Arg(
            value=cst.Name("True"),
            keyword=cst.Name("nested"),
            equal=cst.AssignEqual(whitespace_before=no_space, whitespace_after=no_space),
        )
        new_call = call.with_changes(args=[*call.args, nested])
        return PendingFix(
            "Add `nested=True`", Safety.UNSAFE, [NodeEdit(call, call, self.ctx.code(new_call))]
        )


def _end_run(found: ApiCall, call: cst.Call) -> bool:
    return not found.is_client and found.name == api.END_RUN


def _bare_start_run(found: ApiCall, call: cst.Call) -> bool:
    """A `start_run()` that is no child run (no `nested=True`, no `parent_run_id=`)."""
    return (
        not found.is_client
        and found.name == api.START_RUN
        and not has_keyword(call, "nested")
        and not has_keyword(call, "parent_run_id")
    )
