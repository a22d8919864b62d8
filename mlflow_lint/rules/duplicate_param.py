from __future__ import annotations

from typing import Optional

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import Branches, FileContext, bound_spellings, exclusive, spelling
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rule import Rule
from mlflow_lint.rules.lifecycle import SCOPES, start_run_call

_BRANCHES = (cst.If, cst.Try, cst.TryStar, cst.Match)


class DuplicateParamKey(Rule):
    """
    ## What it does
    Flags the same literal param key logged twice in one run: two `log_param` calls, a key
    repeated across `log_params` dict literals, or `log_param` with a constant key and a
    value that changes on every iteration of a loop. "One run" means the same `with
    mlflow.start_run():` block, or the same function or module body when there is none; calls
    in different branches of an `if` / `try` are not compared. Logging the same literal value
    twice is allowed by MLflow and not flagged.

    ## Why is this bad
    Params are immutable: MLflow raises `MlflowException: Changing param values is not
    allowed. Param with key='lr' was already logged with value='0.1' ...` at run time, often
    hours into a training job. Values compare as strings, so even `1` then `1.0` raises.
    Log a value that changes as a metric with a step, or give each value its own key.

    ## Not flagged
    A client call whose run changes with each iteration of the loop around it (`for run in
    runs: client.log_param(run.info.run_id, "p", v)`): each run gets the param once. A call
    that runs on one iteration of the loop at most (`if early_stopping.step(loss):
    mlflow.log_param("stopped_epoch", epoch)` followed by `break`, or under an `if` that
    holds once): its value changes with the loop, but it is logged once. The same
    value logged again (an idempotent no-op): the same literal, or the same name or attribute
    chain (`EPOCHS`, `args.epochs`) that the run's block never assigns. Calls in exclusive
    branches, and a call after a branch that returns (or raises) once it has logged the key
    (`if dataset is not None: mlflow.log_param("source", "dataset"); return ...`): the two
    never run in one pass, unless a loop around both could run the later one first.

    ## Fix safety
    No automatic fix: which value is meant is for you to decide.
    """

    code = "MLF301"
    name = "duplicate-param-key"
    summary = (
        "The same param key logged twice in one run: MLflow raises 'Changing"
        " param values is not allowed'."
    )
    triggers = frozenset({"log_param", "log_params"})

    def setup(self) -> None:
        # (run scope, key) -> (value code, branch path, left blocks of the first call)
        self._seen: dict[tuple[tuple[int, str], str], tuple[str, Branches, _Leaves]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        found = self.ctx.api_call(node)
        if found is not None and not found.is_client and found.name in (api.START_RUN, api.END_RUN):
            # a bare start_run()/end_run() begins another run in this scope
            scope = self._run_scope(False, {})
            self._seen = {k: v for k, v in self._seen.items() if k[0] != scope}
            return
        if found is None or found.name not in ("log_param", "log_params"):
            return
        bound = fixes.bind_arguments(node, found.signature)
        if bound is None:
            return
        pairs: list[tuple[str, cst.BaseExpression]] = []
        if found.name == "log_param" and "key" in bound and "value" in bound:
            key = fixes.literal_string(bound["key"].value)
            if key is not None:
                pairs.append((key, bound["value"].value))
        elif "params" in bound and type(bound["params"].value) is cst.Dict:
            for element in bound["params"].value.elements:
                if type(element) is cst.DictElement:
                    key = fixes.literal_string(element.key)
                    if key is not None:
                        pairs.append((key, element.value))
        if not pairs:
            return
        scope = self._run_scope(found.is_client, bound)
        branches = self._branch_path()
        loop_names = _one_run_loop_names(self.ctx, node, found, bound)
        for key, value in pairs:
            value_code = self.ctx.code(value)
            if loop_names and fixes.uses_names(value, loop_names):
                self.report(
                    node,
                    f"param {key!r} is logged on every iteration with a value that changes",
                    help=(
                        "The second iteration raises 'Changing param values is not allowed': "
                        "give each iteration a child run of its own (`with mlflow.start_run("
                        "nested=True):`) or a key of its own, or, for a number that changes "
                        f"over steps, log it as a metric (`mlflow.log_metric({key!r}, value, "
                        "step=step)`)"
                    ),
                )
                continue
            previous = self._seen.get((scope, key))
            if previous is None:
                self._seen[(scope, key)] = (value_code, branches, self._leaves(scope[0]))
                continue
            first_value, first_branches, first_leaves = previous
            if exclusive(first_branches, branches) or self._left_before(first_leaves):
                continue
            if first_value == value_code and (
                _literal(value) or self._never_rebound(value, scope[0])
            ):
                continue  # the same value again: an idempotent no-op
            self.report(
                node,
                f"param {key!r} was already logged in this run, as `{first_value}`",
                help=(
                    "Logging it again with another value raises 'Changing param values is not "
                    "allowed': log it once, or use a different key"
                ),
            )

    def _never_rebound(self, value: cst.BaseExpression, scope: int) -> bool:
        """A name or attribute chain (`max_epoch`, `args.epochs`) that the run's block never
        assigns: both calls read the same value (a module constant, a parsed option)."""
        spelled = spelling(value)
        if spelled is None:
            return False
        block = next((n for n in reversed(self.ctx.ancestors) if id(n) == scope), None)
        if block is None:
            return False
        root = spelled.split(".", 1)[0]
        return not any(bound in (spelled, root) for bound in bound_spellings(block))

    def _run_scope(self, is_client: bool, bound: dict[str, cst.Arg]) -> tuple[int, str]:
        """The run a call logs to: its `with mlflow.start_run()` block or its function, and
        for `MlflowClient` calls the run id expression."""
        run_id = self.ctx.code(bound["run_id"].value) if is_client and "run_id" in bound else ""
        for node in reversed(self.ctx.ancestors):
            if type(node) is cst.With and start_run_call(self.ctx, node) is not None:
                return id(node), run_id
            if isinstance(node, SCOPES):
                return id(node), run_id
        return id(self.ctx.module), run_id

    def _leaves(self, scope: int) -> _Leaves:
        """Where the run's code goes after this call: the blocks around it (inside the run's
        scope) whose statements after it include a `return` (or a `raise` no `try` of the
        scope catches), and the loops around it in the scope."""
        chain = self.ctx.ancestors
        start = next((i for i, n in enumerate(chain) if id(n) == scope), 0)
        returning: list[int] = []
        loops: list[int] = []
        caught = False
        for index in range(start + 1, len(chain) - 1):
            node, child = chain[index], chain[index + 1]
            if isinstance(node, (cst.For, cst.While)):
                loops.append(id(node))
            elif isinstance(node, (cst.Try, cst.TryStar)):
                caught = True
            elif isinstance(node, cst.IndentedBlock):
                position, last_leave = self._leaving(node, caught)
                if last_leave > position.get(id(child), len(node.body)):
                    returning.append(id(node))
        return frozenset(returning), frozenset(loops)

    def _leaving(self, block: cst.IndentedBlock, caught: bool) -> tuple[dict[int, int], int]:
        """The place of each statement of `block`, and the place of its last statement that
        leaves the function (-1: none), read once per block."""

        def compute() -> tuple[dict[int, int], int]:
            position = {id(s): i for i, s in enumerate(block.body)}
            leaving = [i for i, s in enumerate(block.body) if _leaves_scope(s, caught)]
            return position, leaving[-1] if leaving else -1

        found: tuple[dict[int, int], int] = self.ctx.memo(
            f"duplicate-param.leaving:{id(block)}:{caught}", compute
        )
        return found

    def _left_before(self, first: _Leaves) -> bool:
        """Whether the run's code returned after the first call before it could reach this
        one: a block around the first call returns and this call is outside it, and no loop
        around the first call runs this one too (a later iteration could log the key before
        the return)."""
        returning, loops = first
        if not returning:
            return False
        around = {id(n) for n in self.ctx.ancestors}
        return not (loops & around) and not returning <= around

    def _branch_path(self) -> Branches:
        """For each if/try around the call: (id of the statement, index of the branch)."""
        path = []
        chain = self.ctx.ancestors
        for index, node in enumerate(chain[:-1]):
            if isinstance(node, _BRANCHES):
                child = chain[index + 1]
                path.append((id(node), _branch_index(node, child)))
        return tuple(path)


_Leaves = tuple[frozenset[int], frozenset[int]]  # (blocks that return, loops) around a call


def _leaves_scope(statement: cst.BaseStatement, caught: bool) -> bool:
    """A statement that always leaves the function: `return`, or `raise` when no `try`
    around it could catch it."""
    if type(statement) is not cst.SimpleStatementLine:
        return False
    kinds = (cst.Return,) if caught else (cst.Return, cst.Raise)
    return any(isinstance(small, kinds) for small in statement.body)


def _one_run_loop_names(
    ctx: FileContext, node: cst.Call, found: ApiCall, bound: dict[str, cst.Arg]
) -> list[str]:
    """The names bound by the loops around `node` that log to one run: for a client call,
    the loops inside the one that changes its run id. Not those of a loop that runs `node`
    on one iteration at most (`if early_stop: log_param("stopped_epoch", epoch); break`):
    the value it logs is one of many, but it is logged once."""
    frames = [frame for frame in ctx.loops(node) if not frame.at_most_once]
    run_id = bound.get("run_id") if found.is_client else None
    if run_id is not None:
        varying = [fixes.uses_names(run_id.value, fixes.loop_bound_names(f.loop)) for f in frames]
        frames = frames[: varying.index(True)] if True in varying else frames
    return fixes.loop_target_names(frames)


def changes_in_loop(ctx: FileContext, node: cst.Call, found: ApiCall) -> bool:
    """`log_param` with a literal key and a value that changes with the loop around it, in
    one run: what this rule reports as certain to raise (MLF106 leaves such a call to it)."""
    if found.name != "log_param":
        return False
    bound = fixes.bind_arguments(node, found.signature)
    if bound is None or "key" not in bound or "value" not in bound:
        return False
    if fixes.literal_string(bound["key"].value) is None:
        return False
    loop_names = _one_run_loop_names(ctx, node, found, bound)
    return bool(loop_names) and fixes.uses_names(bound["value"].value, loop_names)


def _branch_index(node: cst.CSTNode, child: cst.CSTNode) -> int:
    parts: list[Optional[cst.CSTNode]] = []
    if type(node) is cst.If:
        parts = [node.body, node.orelse]
    elif isinstance(node, (cst.Try, cst.TryStar)):
        parts = [node.body, *node.handlers, node.orelse, node.finalbody]
    elif type(node) is cst.Match:
        parts = list(node.cases)
    for index, part in enumerate(parts):
        if part is child:
            return index
    return -1


def _literal(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)) or (
        type(node) is cst.Name and node.value in ("True", "False", "None")
    )
