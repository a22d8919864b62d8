from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import iter_children
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, Safety
from mlflow_lint.rules.lifecycle import SCOPES, calls_in, is_fluent

Block = Union[cst.IndentedBlock, cst.Module]
_JUMPS = (cst.Return, cst.Break, cst.Continue, cst.Yield, cst.Await)


class RunNotContextManaged(Rule):
    """
    ## What it does
    Flags `mlflow.start_run()` whose run is not managed: the call is not the expression of a
    `with` statement (directly, or through a variable entered with `with` later), and the run
    is not ended in a `finally` block, in a function or module body. Not flagged: object
    lifecycles where one method starts the run and another ends it (callbacks,
    `__init__`/`close`, `__enter__`/`__exit__`): a `start_run` in a method of a class that
    calls `mlflow.end_run` somewhere.

    ## Why is this bad
    When the code between `start_run()` and `end_run()` raises, the run stays RUNNING in the
    tracking server (the process's exit handler marks it FINISHED only on a normal
    interpreter exit, never after a crash or a kill), and with asynchronous logging the
    buffered points are lost. `with mlflow.start_run():` ends the run as FAILED when an
    exception propagates, and FINISHED otherwise.

    ## Fix safety
    Safe where `start_run(...)` (alone, or assigned to a name) and a plain `mlflow.end_run()`
    stand in the same block with nothing between them that could jump out (`return`,
    `break`, `continue`, `yield`): the statements between become the body of `with
    mlflow.start_run(...) as run:`, which on a normal completion ends the run with the same
    FINISHED status. The behaviour on an exception is what changes, and is the point.
    """

    code = "MLF302"
    name = "run-not-context-managed"
    summary = (
        "`mlflow.start_run()` outside a `with` and not ended in `finally`: an"
        " exception leaves the run RUNNING."
    )
    triggers = frozenset({api.START_RUN})
    fix_safety = Safety.SAFE

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._scan(node.body, fixes.indent_unit(self.ctx.module, node))

    def leave_Module(self, node: cst.Module) -> None:
        self._scan(node.body, fixes.indent_unit(node, None))

    def setup(self) -> None:
        # decided in finish(): a class's other methods (which may end the run) come later
        self._candidates: list[
            tuple[Sequence[cst.BaseStatement], int, Optional[cst.ClassDef], str]
        ] = []

    def _scan(self, statements: Sequence[cst.BaseStatement], unit: str) -> None:
        owner = next((a for a in reversed(self.ctx.ancestors) if isinstance(a, cst.ClassDef)), None)
        for index, statement in enumerate(statements):
            if self._start_statement(statement) is not None:
                self._candidates.append((statements, index, owner, unit))

    def finish(self) -> None:
        for statements, index, owner, unit in self._candidates:
            start = self._start_statement(statements[index])
            assert start is not None
            call, name = start
            if self._managed(statements[index + 1 :], name) or self._object_lifecycle(owner):
                continue
            fix = self._with_fix(statements, index, call, name, unit)
            self.report(
                call,
                "`mlflow.start_run()` outside a `with` block: if anything raises before "
                "`end_run()`, the run stays RUNNING; use `with mlflow.start_run():`",
                fix=fix,
            )

    def _start_statement(
        self, statement: cst.BaseStatement
    ) -> Optional[tuple[cst.Call, Optional[str]]]:
        """`mlflow.start_run(...)` or `run = mlflow.start_run(...)` as a statement."""
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if isinstance(small, cst.Expr) and is_fluent(self.ctx, small.value, api.START_RUN):
            assert isinstance(small.value, cst.Call)
            return small.value, None
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and is_fluent(self.ctx, small.value, api.START_RUN)
        ):
            assert isinstance(small.value, cst.Call)
            return small.value, small.targets[0].target.value
        return None

    def _managed(self, following: Sequence[cst.BaseStatement], name: Optional[str]) -> bool:
        for statement in following:
            if (
                isinstance(statement, (cst.Try, cst.TryStar))
                and statement.finalbody is not None
                and any(is_fluent(self.ctx, c, api.END_RUN) for c in calls_in(statement.finalbody))
            ):
                return True
            if (
                name is not None
                and isinstance(statement, cst.With)
                and any(
                    isinstance(i.item, cst.Name) and i.item.value == name for i in statement.items
                )
            ):
                return True
        return False

    def _object_lifecycle(self, owner: Optional[cst.ClassDef]) -> bool:
        """Inside a method of a class that ends the run in some method."""
        return owner is not None and any(
            is_fluent(self.ctx, c, api.END_RUN) for c in calls_in(owner, enter_scopes=True)
        )

    def _with_fix(
        self,
        statements: Sequence[cst.BaseStatement],
        index: int,
        call: cst.Call,
        name: Optional[str],
        unit: str,
    ) -> Optional[PendingFix]:
        for end in range(index + 1, len(statements)):
            statement = statements[end]
            if _is_plain_end_run(self, statement):
                body = list(statements[index + 1 : end])
                if not body or any(_jumps(s) for s in body):
                    return None
                if _comment_would_move(statements[index], statement):
                    return None
                header = f"with {self.ctx.code(call)}{f' as {name}' if name else ''}:"
                block = cst.IndentedBlock(body=body, indent=unit)
                wrapped = cst.With(
                    items=[
                        cst.WithItem(item=call, asname=cst.AsName(cst.Name(name)) if name else None)
                    ],
                    body=block,
                )
                code = self.ctx.code(wrapped).rstrip("\r\n")
                assert code.startswith(header)
                first, last = statements[index], statement
                return PendingFix(
                    f"Use `{header}`",
                    Safety.SAFE,
                    [NodeEdit(_small(first), _small(last), code)],
                )
            if any(is_fluent(self.ctx, c, api.START_RUN, api.END_RUN) for c in calls_in(statement)):
                return None
        return None


def _is_plain_end_run(rule: Rule, statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and is_fluent(rule.ctx, statement.body[0].value, api.END_RUN)
        and not statement.body[0].value.args  # type: ignore[attr-defined]
    )


def _comment_would_move(start: cst.BaseStatement, end: cst.BaseStatement) -> bool:
    """A comment on the start_run line or above/on the end_run line has no good new home."""
    assert isinstance(start, cst.SimpleStatementLine) and isinstance(end, cst.SimpleStatementLine)
    return (
        start.trailing_whitespace.comment is not None
        or end.trailing_whitespace.comment is not None
        or any(line.comment is not None for line in end.leading_lines)
    )


def _jumps(statement: cst.CSTNode) -> bool:
    todo: list[cst.CSTNode] = [statement]
    while todo:
        node = todo.pop()
        if isinstance(node, SCOPES):
            continue
        if isinstance(node, _JUMPS):
            return True
        todo.extend(iter_children(node))
    return False


def _small(statement: cst.BaseStatement) -> cst.CSTNode:
    """The small statement inside a one-statement line: its range excludes the leading lines."""
    if isinstance(statement, cst.SimpleStatementLine):
        return statement.body[0]
    return statement
