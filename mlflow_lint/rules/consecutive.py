"""MLF102-MLF104: adjacent un-batched calls that one batched call replaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Optional

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, RuleOption, Safety


@dataclass
class _Item:
    statement: cst.SimpleStatementLine
    expr: cst.Expr
    call: cst.Call
    key: cst.BaseExpression
    value: cst.BaseExpression
    shared: dict[str, str]  # parameter -> code, for the parameters that must match


class ConsecutiveCalls(Rule):
    """Base: groups of adjacent statements that each make one un-batched fluent call."""

    single: ClassVar[str]  # "log_metric"
    shared_params: ClassVar[tuple[str, ...]]  # must be equal across the group, carried over
    forbidden_params: ClassVar[tuple[str, ...]] = ()  # a call with one of these is left alone
    limit: ClassVar[int]
    # Whether two non-literal keys that turn out equal at run time keep the same outcome after
    # merging into one dict (true for tags: last write wins; false for metrics and params).
    runtime_duplicate_keys_safe: ClassVar[bool] = False
    fix_safety = Safety.SAFE
    options = {
        "min-calls": RuleOption(int, 2, "Smallest number of adjacent calls that is reported.")
    }

    @property
    def batch(self) -> str:
        return api.FLUENT_BATCH_FORM[self.single][0]

    def setup(self) -> None:
        # the batched call's spelling, decided where each call is (the names bound by then),
        # and whether its first name was bound in the innermost scope there
        self._callees: dict[int, tuple[Optional[str], bool]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        found = self.ctx.api_call(node)
        if found is not None and not found.is_client and found.name == self.single:
            callee = fixes.fluent_callee(self.ctx, node, self.batch)
            self._callees[id(node)] = (callee, self._bound_here(callee))

    def _bound_here(self, callee: Optional[str]) -> bool:
        """Whether the callee's first name is bound in the innermost scope at this point."""
        return callee is not None and callee.split(".", 1)[0] in self.ctx.resolver.current.names

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._scan(node.body, levels=1)  # the block itself is no longer among the ancestors

    def leave_Module(self, node: cst.Module) -> None:
        self._scan(node.body, levels=0)

    def _scan(self, statements: Sequence[cst.BaseStatement], levels: int) -> None:
        self._levels = levels
        group: list[_Item] = []
        for statement in statements:
            item = self._item(statement)
            if item is not None and group and self._joins(group[-1], item):
                group.append(item)
                continue
            self._finish(group)
            group = [item] if item is not None else []
        self._finish(group)

    def _item(self, statement: cst.BaseStatement) -> Optional[_Item]:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        expr = statement.body[0]
        if not isinstance(expr, cst.Expr) or not isinstance(expr.value, cst.Call):
            return None
        call = expr.value
        found = self.ctx.api_call(call)
        if found is None or found.is_client or found.name != self.single:
            return None
        if fixes.has_comment(expr):
            return None  # a comment among the arguments would not survive the merge
        bound = fixes.bind_arguments(call, found.signature)
        if bound is None or "key" not in bound or "value" not in bound:
            return None
        if any(name in bound for name in self.forbidden_params):
            return None
        if set(bound) - {"key", "value", *self.shared_params}:
            return None  # model_id=, dataset=, ...: not expressible in the batched form
        shared = {
            name: self.ctx.code(bound[name].value) for name in self.shared_params if name in bound
        }
        if not all(fixes.is_pure(bound[name].value) for name in shared):
            return None
        return _Item(statement, expr, call, bound["key"].value, bound["value"].value, shared)

    def _joins(self, previous: _Item, item: _Item) -> bool:
        """Adjacent for our purpose: nothing but blank lines between, same shared arguments."""
        if previous.statement.trailing_whitespace.comment is not None:
            return False  # merging would drop the comment
        if any(line.comment is not None for line in item.statement.leading_lines):
            return False
        return previous.shared == item.shared and self.ctx.code(
            previous.call.func
        ) == self.ctx.code(item.call.func)

    def _finish(self, group: list[_Item]) -> None:
        if len(group) < self.option_values["min-calls"]:
            return
        first, last = group[0], group[-1]
        keys = [fixes.literal_string(item.key) for item in group]
        literal = [k for k in keys if k is not None]
        duplicates = sorted({k for k in literal if literal.count(k) > 1})
        count = len(group)
        callee, bound_at_call = self._callees.get(id(first.call), (None, False))
        if self._bound_here(callee) != bound_at_call:
            callee = None  # bound later in this scope: a local name, still unbound at the call
        shown = callee or f"mlflow.{self.batch}"
        if duplicates:
            self.report(
                first.expr,
                f"{count} consecutive `mlflow.{self.single}` calls send {count} tracking "
                f"requests, but they repeat the key {duplicates[0]!r}: a batched "
                f"`{shown}` would reject or drop it; log each key once, then batch them",
                end_node=last.expr,
            )
            return
        fix = self._fix(group, callee, all_literal=len(literal) == count)
        self.report(
            first.expr,
            f"{count} consecutive `mlflow.{self.single}` calls send {count} tracking requests; "
            f"send them in one with `{shown}({{...}}{self._shared_hint(first)})`",
            fix=fix,
            end_node=last.expr,
        )

    def _shared_hint(self, item: _Item) -> str:
        return "".join(f", {name}={code}" for name, code in item.shared.items())

    def _fix(
        self, group: list[_Item], callee: Optional[str], all_literal: bool
    ) -> Optional[PendingFix]:
        if callee is None:
            return None
        pairs = [(self.ctx.code(item.key), self.ctx.code(item.value)) for item in group]
        indent = fixes.current_indent(self.ctx, self._levels)
        shared = fixes.keywords(group[0].shared.items())
        calls = [
            fixes.dict_call_code(callee, chunk, shared, indent)
            for chunk in fixes.chunks(pairs, self.limit)
        ]
        pure = all(fixes.is_pure(item.key) and fixes.is_pure(item.value) for item in group)
        safe = pure and (all_literal or self.runtime_duplicate_keys_safe)
        description = f"Merge into one `{callee}` call"
        edit = NodeEdit(group[0].expr, group[-1].expr, "\n".join(calls))
        return PendingFix(description, Safety.SAFE if safe else Safety.UNSAFE, [edit])


class ConsecutiveLogMetric(ConsecutiveCalls):
    """
    ## What it does
    Flags two or more adjacent `mlflow.log_metric` statements that log to the same run with
    the same `step` (or none) and the same `synchronous` flag, with nothing but blank lines
    between them.

    ## Why is this bad
    Each `log_metric` call is one REST request (`POST runs/log-metric`) and one database write
    transaction. `mlflow.log_metrics({...}, step=...)` sends up to 1,000 metrics in a single
    `runs/log-batch` request (and MLflow's client splits larger batches itself). Measured
    against a local `mlflow server`: 100 `log_metric` calls took 5.4 s, one `log_metrics` with
    100 keys took 72 ms.

    Calls with different steps, a `timestamp=`, `run_id=`, `model_id=` or `dataset=`, calls
    whose result is used, calls separated by comments or other statements, and calls that
    repeat a key (a batch with a duplicate key is rejected, or a dict silently keeps the last
    value) are left alone; the last case is reported without a fix.

    ## Fix safety
    The fix is safe when the keys are distinct string literals and the keys and values are
    free of side effects (names, attributes, literals, arithmetic, `float()`, `.item()` and
    similar): the same metrics with the same values and step are logged, evaluated in the same
    order. One thing differs: `log_metrics` stamps one timestamp on the whole batch, where the
    separate calls were milliseconds apart. Otherwise (a key computed at run time could repeat,
    a value that calls a function could fail after earlier metrics were sent) the fix is
    unsafe.
    """

    code = "MLF102"
    name = "consecutive-log-metric"
    summary = "Adjacent `log_metric` calls: one request each where one `log_metrics` would do."
    triggers = frozenset({"log_metric"})
    single = "log_metric"
    shared_params = ("step", "synchronous")
    forbidden_params = ("timestamp", "run_id", "model_id", "dataset")
    limit = api.MAX_METRICS_PER_BATCH


class ConsecutiveLogParam(ConsecutiveCalls):
    """
    ## What it does
    Flags two or more adjacent `mlflow.log_param` statements (same `synchronous` flag, nothing
    but blank lines between them, result not used).

    ## Why is this bad
    Each `log_param` is one REST request (`POST runs/log-parameter`) and one database
    transaction; `mlflow.log_params({...})` sends up to 100 params in one `runs/log-batch`
    request (the client splits larger dicts itself). A block of 20 hyperparameters costs 20
    requests instead of one.

    ## Fix safety
    Safe when the keys are distinct string literals and keys and values are free of side
    effects: the same params with the same values (value expressions are kept as written, so
    `1` stays `1`: params compare as strings) are logged in one request. Unsafe otherwise. On
    a failure the outcome differs: separate calls store every param up to the failing one,
    while the server validates a batch before storing any of it. Calls that repeat a key are
    reported without a fix: changing a param raises at run time, and a dict would hide that.
    """

    code = "MLF103"
    name = "consecutive-log-param"
    summary = "Adjacent `log_param` calls: one request each where one `log_params` would do."
    triggers = frozenset({"log_param"})
    single = "log_param"
    shared_params = ("synchronous",)
    limit = api.MAX_PARAMS_TAGS_PER_BATCH


class ConsecutiveSetTag(ConsecutiveCalls):
    """
    ## What it does
    Flags two or more adjacent `mlflow.set_tag` statements (same `synchronous` flag, nothing
    but blank lines between them).

    ## Why is this bad
    Each `set_tag` is one REST request (`POST runs/set-tag`) and one database transaction;
    `mlflow.set_tags({...})` sends up to 100 tags in one `runs/log-batch` request.

    ## Fix safety
    Safe when keys and values are free of side effects: tags are mutable and the last write
    wins, also within one batch, so even keys computed at run time that turn out equal end
    with the same value. Calls that repeat a literal key are reported without a fix.
    """

    code = "MLF104"
    name = "consecutive-set-tag"
    summary = "Adjacent `set_tag` calls: one request each where one `set_tags` would do."
    triggers = frozenset({"set_tag"})
    single = "set_tag"
    shared_params = ("synchronous",)
    limit = api.MAX_PARAMS_TAGS_PER_BATCH
    runtime_duplicate_keys_safe = True
