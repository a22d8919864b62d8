"""MLF102-MLF104: adjacent un-batched calls that one batched call replaces."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Optional

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import FileContext
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, RuleOption, Safety


@dataclass
class _Item:
    statement: cst.SimpleStatementLine
    expr: cst.Expr
    call: cst.Call
    key: cst.BaseExpression
    value: cst.BaseExpression
    shared: dict[str, str]  # parameter -> code, for the parameters that must match
    # Whether merging would evaluate this call's arguments in another order that matters:
    # the merged call evaluates key, value, then (once, at the end) the shared arguments,
    # while `log_metric(value=v(), key=k())` evaluated v() first.
    reorders: bool


def key_identity(ctx: FileContext, key: cst.BaseExpression) -> str:
    """What makes two key expressions "the same": the same string literal (`"a"` is `'a'`), or
    the same code up to spacing and redundant parentheses (`name+"_x"` is `name + "_x"`),
    compared as Python ASTs."""
    literal = fixes.literal_string(key)
    if literal is not None:
        return f"literal {literal!r}"
    code = ctx.code(key)
    try:
        return ast.dump(ast.parse(f"(\n{code}\n)", mode="eval"))
    except (SyntaxError, ValueError, RecursionError):  # not expected: it parsed as Python
        return "".join(code.split())


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
        items = [self._item(statement) for statement in statements]
        alone_is_enough = self.option_values["min-calls"] <= 1
        for index, item in enumerate(items):
            # a comment among the arguments would not survive the merge; looked for only where
            # a group can form (next to another call: a dense file has thousands alone)
            neighbour = (index and items[index - 1]) or (
                index + 1 < len(items) and items[index + 1]
            )
            if item is not None and (neighbour or alone_is_enough) and fixes.has_comment(item.expr):
                items[index] = None
        group: list[_Item] = []
        for item in items:
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
        key, value = bound["key"].value, bound["value"].value
        # `bound` is in the order the arguments are written; the rest are pure shared ones
        in_order = list(bound)[:2] == ["key", "value"]
        reorders = not in_order and not (fixes.is_pure(key) and fixes.is_pure(value))
        return _Item(statement, expr, call, key, value, shared, reorders)

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
        all_literal = all(k is not None for k in keys)
        repeated = self._repeated_key(group)
        count = len(group)
        callee, bound_at_call = self._callees.get(id(first.call), (None, False))
        if self._bound_here(callee) != bound_at_call:
            callee = None  # bound later in this scope: a local name, still unbound at the call
        shown = callee or f"mlflow.{self.batch}"
        if repeated is not None:
            self.report(
                first.expr,
                f"{count} consecutive `mlflow.{self.single}` calls send {count} tracking "
                f"requests, but they repeat the key {repeated}: a batched "
                f"`{shown}` would reject or drop it; log each key once, then batch them",
                end_node=last.expr,
            )
            return
        fix = self._fix(group, callee, all_literal)
        self.report(
            first.expr,
            f"{count} consecutive `mlflow.{self.single}` calls send {count} tracking requests; "
            f"send them in one with `{shown}({{...}}{self._shared_hint(first)})`",
            fix=fix,
            end_node=last.expr,
        )

    def _repeated_key(self, group: list[_Item]) -> Optional[str]:
        """The first key written twice in the group (the same literal, or the same code,
        whatever it evaluates to), as the message shows it; None when every key differs."""
        seen: dict[str, cst.BaseExpression] = {}
        for item in group:
            identity = key_identity(self.ctx, item.key)
            if identity in seen:
                key = seen[identity]
                literal = fixes.literal_string(key)
                return repr(literal) if literal is not None else f"`{self.ctx.code(key)}`"
            seen[identity] = item.key
        return None

    def _shared_hint(self, item: _Item) -> str:
        return "".join(f", {name}={code}" for name, code in item.shared.items())

    def _fix(
        self, group: list[_Item], callee: Optional[str], all_literal: bool
    ) -> Optional[PendingFix]:
        if callee is None or any(item.reorders for item in group):
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

    Calls with different steps, a `timestamp=`, `run_id=`, `model_id=` or `dataset=`, a
    `step` or `synchronous` with side effects (`step=next(counter)`), calls whose result is
    used, and calls separated by comments or other statements are left alone. Calls that
    repeat a key are reported, without a fix.

    ## Fix safety
    The fix is safe when the keys are distinct string literals and the keys and values are
    free of side effects (names, attributes, literals, arithmetic, `float()`, `.item()` and
    similar): the same metrics with the same values and step are logged, evaluated in the same
    order. One thing differs: `log_metrics` stamps one timestamp on the whole batch, where the
    separate calls were milliseconds apart. Otherwise (a key computed at run time could repeat,
    a value that calls a function could fail after earlier metrics were sent) the fix is
    unsafe. Either way each key and value is evaluated once, in its original order wherever
    the order could matter; the `step` (the same code in every call, and free of side effects)
    is evaluated once, after them.

    No fix is offered, and the finding is only reported, when:

    - two of the calls repeat a key: the same string literal, or the same code whatever it
      evaluates to (`log_metric(name, a)` twice, `name + "_x"` twice). A batch with a
      duplicate key is rejected, and a dict keeps only the last value, so a metric point
      would be lost;
    - a call writes its value before its key, or its `step` or `synchronous` before them
      (`log_metric(value=v(), key=k())`), and its key or value has side effects: the merged
      call evaluates each key, then its value, and the step last.
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
    `1` stays `1`: params compare as strings) are logged in one request. Unsafe otherwise (a
    key computed at run time could repeat; a value that calls a function could fail after
    earlier params were stored); each key and value is still evaluated once, in its original
    order wherever the order could matter. On a failure the outcome differs: separate calls
    store every param up to the failing one, while the server validates a batch before
    storing any of it.

    No fix is offered, and the finding is only reported, when:

    - two of the calls repeat a key: the same string literal, or the same code whatever it
      evaluates to (`log_param(k, 1); log_param(k, 2)`). Changing a param raises at run time
      ("Changing param values is not allowed"), a batch with a duplicate key is rejected even
      when the values match, and a dict would keep the last value and hide both;
    - a call writes its value (or `synchronous`) before its key (`log_param(value=v(),
      key=k())`), and its key or value has side effects: the merged dict evaluates each key
      before its value.
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
    Safe when keys and values are free of side effects, even when the keys are computed at
    run time: tags are mutable and the last write wins, also within one batch, and a dict
    keeps the last value for a key, so two different key expressions that turn out equal
    (`set_tag(a, "x"); set_tag(b, "y")` with `a == b`) end with the same tag value either way.
    Unsafe when a key or value has side effects; each is still evaluated once, in its original
    order wherever the order could matter.

    No fix is offered, and the finding is only reported, when:

    - two of the calls repeat a key in the code: the same string literal, or the same code
      (`set_tag(k, "x"); set_tag(k, "y")`). MLflow would accept the merged batch and store
      the last value, which is what the separate calls leave behind; but the dict would hold
      the key twice with its first value silently dropped (dead code that other linters
      report as a repeated dict key), and a key set twice in a few lines is most likely a
      mistake, reported for you to remove, as MLF102 and MLF103 do;
    - a call writes its value (or `synchronous`) before its key (`set_tag(value=v(),
      key=k())`), and its key or value has side effects: the merged dict evaluates each key
      before its value.
    """

    code = "MLF104"
    name = "consecutive-set-tag"
    summary = "Adjacent `set_tag` calls: one request each where one `set_tags` would do."
    triggers = frozenset({"set_tag"})
    single = "set_tag"
    shared_params = ("synchronous",)
    limit = api.MAX_PARAMS_TAGS_PER_BATCH
    runtime_duplicate_keys_safe = True
