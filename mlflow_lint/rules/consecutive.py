"""MLF102-MLF104: adjacent un-batched calls that one batched call replaces.

Fluent calls of one kind merge into their batched form (`log_metric` -> `log_metrics`).
`MlflowClient` calls (`client.log_metric(run_id, ...)`, `log_param`, `set_tag`) on the same
client and run merge into one `client.log_batch(run_id, metrics=[...], params=[...],
tags=[...])`, kinds mixed: such a run of statements is one finding, reported by the rule of
the kind it holds most of. Comments never split a group: each call's comments follow its entry
in the merged call, and comment lines between the calls go above it.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Optional

import libcst as cst

from mlflow_lint import fixes, frequency, imports
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import FileContext, is_test_code
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, RuleOption, Safety, shared_doc

# The kind of each un-batched call, and the rule that owns it.
KIND_RULE = {"log_metric": "MLF102", "log_param": "MLF103", "set_tag": "MLF104"}
_KIND_ORDER = tuple(KIND_RULE)
# `log_batch`'s list argument for each kind, in the order it evaluates them.
_BATCH_LISTS = (("log_metric", "metrics"), ("log_param", "params"), ("set_tag", "tags"))
_ENTITIES = {"log_metric": "Metric", "log_param": "Param", "set_tag": "RunTag"}
TIMESTAMP = "timestamp_ms"  # the batch's one timestamp, when the file has no such name

# The part of MLF102-MLF104's "Not flagged" on where a group is reported: one text, put in
# each rule's docstring in place of `{where_reported}`.
_WHERE_REPORTED = """\
In a function that runs once per run, fewer than ten calls are not reported (option
`min-calls-once`, default 10): a function not called in a loop of the module and not named
for a step, batch or epoch (`log_git_info`, `on_train_begin`), also in a loop over a
written-out handful of three items or fewer (`for split in ("train", "test")`) or over a set
of names whose items each log their own keys (`for name, values in schedules.items():`
logging `f"{name}_min"` and `f"{name}_max"`). A few requests saved once per run are noise
next to a training loop's logging: on real code, hand-judged, none of those findings was
worth acting on. A script's own code (module level, a notebook's cells) runs once per run
too and is held to the same ten, as is a loop that opens a run per iteration (a sweep: each
trial is one run), and a function that opens the run itself around the calls (`with
mlflow.start_run():`), however often it is called: each call is a run of its own, and so is
a function called only in a loop over the folds of a cross-validation (`for train, test in
kfold.split(X, y):`, a handful fixed for the run: see MLF101). Two calls are reported where
they repeat within a run: in a loop, with a `step` that is not a constant, in a function the
module calls in a loop (directly or through its helpers), or in one named for a step or
batch (`on_train_batch_end`, `log_step`) that does not open the run itself; option
`min-calls`, default 2. Once per epoch of a training loop, fewer than five calls are not
reported (option `min-calls-epoch`, default 5): in an epoch loop that trains in each
iteration (a per-batch loop of its own, or a call such as `train_one_epoch(model)`; a loop
that only replays a history it holds is a burst, and reported), after the per-batch loop of
a function that trains one epoch, or in a function named for an epoch or handed one and no
step (`on_epoch_end`, `def log_training_metrics(self, epoch, loss)`). A request or two per
epoch is the granularity MLflow recommends, what MLF101 leaves alone there too; on real
code, hand-judged, such pairs and triples were rarely worth acting on. To have every group
of two or more reported (and merged by `mlflow-lint fix`), set `min-calls-once = 2` and
`min-calls-epoch = 2` in the rule's table, for example `[tool.mlflow-lint.MLF102]` (see
docs/configuration.md). Calls in an exception handler (an error path) and in test code
(`test_*` functions, test modules, `tests/` folders) are not reported. Nor are calls under a
test for a new best (`if val_acc > self.best_acc:`, `if is_best:`), whatever the loop, step
or function name say: they run when a result improves, a few times over a training, and
merging them saves a request each time; they are held to the ten like a set-up function. So
are calls in a loop that waits on each iteration (`time.sleep`, `event.wait(...)`,
`queue.get(timeout=...)`, `input()`, a child process run to its end): its requests come a
few at a time, at the pace of the wait, as MLF101 does not report them either."""


@dataclass
class _Item:
    statement: cst.SimpleStatementLine
    expr: cst.Expr
    call: cst.Call
    found: api.ApiCall
    key: cst.BaseExpression
    value: cst.BaseExpression
    # what must be equal across the group, as code: the callee (fluent) or the client and
    # run (client), and the shared parameters (step, synchronous, ...)
    group_key: tuple[str, ...]
    # Whether merging would evaluate this call's arguments in another order that matters:
    # the merged call evaluates key, value, then (once, at the end) the shared arguments,
    # while `log_metric(value=v(), key=k())` evaluated v() first.
    reorders: bool
    bound: dict[str, cst.Arg]
    leading: list[str]  # comment lines above the statement
    shared: dict[str, str] = field(default_factory=dict)  # fluent: shared parameter -> code

    @cached_property
    def comments(self) -> list[str]:
        """The call's own comments (its arguments' and its line's): looked for only in groups
        that get reported, not in every lone call of a file."""
        return _own_comments(self.statement, self.key, self.value)


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
    """Base: groups of adjacent statements that each make one un-batched call."""

    single: ClassVar[str]  # "log_metric"
    limit: ClassVar[int]
    # Whether two non-literal keys that turn out equal at run time keep the same outcome after
    # merging into one dict (true for tags: last write wins; false for metrics and params).
    runtime_duplicate_keys_safe: ClassVar[bool] = False
    fix_safety = Safety.SAFE
    options = {
        "min-calls": RuleOption(
            int,
            2,
            "Smallest number of adjacent calls that is reported where they repeat within a "
            "run (in a loop, per step, in a function called in a loop or named for a step or "
            "batch).",
            minimum=2,
        ),
        "min-calls-epoch": RuleOption(
            int,
            5,
            "Smallest number of adjacent calls that is reported where they run once per epoch "
            "of a training loop (in the epoch loop around the per-batch one, after a function's "
            "per-batch loop, or in a hook named for an epoch such as `on_epoch_end`).",
            minimum=2,
        ),
        "min-calls-once": RuleOption(
            int,
            10,
            "Smallest number of adjacent calls that is reported where they run once per run "
            "(a script's own code, a set-up or teardown helper): a few requests saved once "
            "per run are noise next to a training loop's logging.",
            minimum=2,
        ),
    }

    @property
    def batch(self) -> str:
        return api.FLUENT_BATCH_FORM[self.single][0]

    def setup(self) -> None:
        # the batched call's spelling, decided where each call is (the names bound by then),
        # and whether its first name was bound in the innermost scope there
        self._callees: dict[int, tuple[Optional[str], bool]] = {}
        self._top: dict[int, Optional[cst.CSTNode]] = {}  # call -> its top-level statement
        self._places: dict[int, _Place] = {}  # call -> where it runs (see _Place)
        # groups on a once-per-run path, unless their function turns out to be called in a
        # loop: (the function's held key, the report's arguments), decided in finish()
        self._pending: list[tuple[str, tuple[Any, ...]]] = []

    def visit_Call(self, node: cst.Call) -> None:
        found = self.ctx.api_call(node)
        if found is None or found.name not in KIND_RULE:
            if self.ctx.callee_is_local(node):
                frequency.note_helper_site(self.ctx, node)
            return
        # the three rules see the same calls: the ancestors are read once per call
        self._places[id(node)] = self.ctx.memo(
            f"consecutive.place:{id(node)}", lambda: self._place(node, found)
        )
        self._top[id(node)] = self.ctx.top_statement()
        if not found.is_client and found.name == self.single:
            callee = fixes.fluent_callee(self.ctx, node, self.batch)
            self._callees[id(node)] = (callee, self._bound_here(callee))

    def _place(self, call: cst.Call, found: api.ApiCall) -> _Place:
        function: Optional[cst.FunctionDef] = None
        handler = False
        for node in reversed(self.ctx.ancestors):
            if isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
                handler = True
            if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                function = node if type(node) is cst.FunctionDef else None
                break
        improving = self.ctx.improving()
        frames = [] if improving else self.ctx.repeating_loops()
        # a loop that waits on each iteration (a poll, a demo's `time.sleep`): its requests
        # come a few at a time, at the pace of the wait (see PACED_NOT_FLAGGED)
        paced = any(self.ctx.paced(frame.loop) for frame in frames)
        if paced:
            frames = []
        # a loop over a set of names, each logging its own keys, once per run?
        # (an interface's loop is held by the loop rules, once they know its callers)
        once = frequency.once_per_run_call(self.ctx, frames, call, found) if frames else None
        # a metrics interface that takes no step (`def log_scores(self, scores)` looping over
        # what it is handed): summary values, once per run unless the file calls it in a loop
        interface = once is not None and once.startswith(frequency.INTERFACE_PREFIX)
        if once is not None:
            frames = []
        own_run = function is not None and self.ctx.in_own_run(call)
        epoch_level = (
            self.ctx.memo(
                f"consecutive.epoch-loop:{id(frames[0].loop)}", lambda: _epoch_loop(frames[0].loop)
            )
            if frames
            else function is not None
            and self.ctx.memo(
                f"consecutive.epoch-function:{id(function)}",
                lambda: frequency.runs_per_epoch(function),
            )
        )
        return _Place(
            bool(frames), function, handler, own_run, improving, paced, epoch_level, interface
        )

    def _report_group(self, group: list[_Item], *report: Any) -> None:
        """Report a group where it repeats, or where it is big enough to matter once; a small
        group in a function waits for the end of the file (is the function called in a
        loop?); a group in test code or in an exception handler is not worth a finding."""
        first = group[0]
        place = self._places.get(id(first.call), _Place(False, None, False))
        if place.handler:
            return  # an error path: rare, and merging there saves little
        if is_test_code(self.ctx.path, place.function):
            return  # a test's few calls against a throwaway store
        if place.epoch_level and len(group) < self.option_values["min-calls-epoch"]:
            return  # a request or two per epoch: the granularity MLflow recommends
        if (
            place.repeated
            or (not place.improving and not place.paced and _per_step(first))
            or (
                place.function is not None
                and not place.own_run  # each call a run of its own, whatever its name
                and not place.improving
                and frequency.step_named(place.function)
            )
            or len(group) >= self.option_values["min-calls-once"]
        ):
            self.report(*report)
        elif place.function is not None and not place.own_run:
            # reported if the module calls it in a loop
            key = self.ctx.function_key(place.function)
            if place.interface:
                key = frequency.INTERFACE_PREFIX + key
            self._pending.append((key, report))
        # else a script's own code, or a run of its own: once per run, as in a set-up function

    def finish(self) -> None:
        if not self._pending:
            return
        reported = frequency.reported_keys(self.ctx, {key for key, _ in self._pending})
        for key, report in self._pending:
            if key in reported:
                self.report(*report)

    def _bound_here(self, callee: Optional[str]) -> bool:
        """Whether the callee's first name is bound in the innermost scope at this point."""
        return callee is not None and callee.split(".", 1)[0] in self.ctx.resolver.current.names

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._scan(node.body, levels=1)  # the block itself is no longer among the ancestors

    def leave_Module(self, node: cst.Module) -> None:
        self._scan(node.body, levels=0)

    def _scan(self, statements: Sequence[cst.BaseStatement], levels: int) -> None:
        self._levels = levels
        for group in _groups(self.ctx, statements, client=False, kinds=(self.single,)):
            self._finish_fluent(group)
        kinds = tuple(kind for kind, code in KIND_RULE.items() if code in self.ctx.enabled)
        client_groups = self.ctx.memo(
            f"consecutive.client:{id(statements)}",
            lambda: _groups(self.ctx, statements, client=True, kinds=kinds),
        )
        for group in client_groups:
            if _reporter(group, self.ctx.enabled) == self.code:
                self._finish_client(group)

    # --- fluent groups ----------------------------------------------------------------------
    def _finish_fluent(self, group: list[_Item]) -> None:
        if len(group) < self.option_values["min-calls"]:
            return
        first, last = group[0], group[-1]
        count = len(group)
        callee, bound_at_call = self._callees.get(id(first.call), (None, False))
        if self._bound_here(callee) != bound_at_call:
            callee = None  # bound later in this scope: a local name, still unbound at the call
        shown = callee or f"mlflow.{self.batch}"
        _mark_covered(self.ctx, group)
        message = f"{count} consecutive `mlflow.{self.single}` calls send {count} requests"
        repeated = _repeated_key(self.ctx, group)
        if repeated is not None:
            if self.single == "log_metric":  # points of one metric's history, on purpose
                advice = (
                    f"`{shown}` keeps one value per key: send the points as `Metric` entities "
                    "in one `MlflowClient().log_batch(run_id, metrics=[...])`, which keeps each"
                )
            else:
                advice = (
                    f"A batched `{shown}` would reject or drop the repeated key: log each key "
                    "once, then batch the calls"
                )
            self._report_group(
                group,
                first.expr,
                f"{message}, and repeat the key {repeated}",
                None,
                last.expr,
                advice,
            )
            return
        self._report_group(
            group,
            first.expr,
            message,
            self._fluent_fix(group, callee),
            last.expr,
            f"Send them in one request with `{shown}({{...}}{_shared_hint(first)})`",
        )

    def _fluent_fix(self, group: list[_Item], callee: Optional[str]) -> Optional[PendingFix]:
        if callee is None or any(item.reorders for item in group):
            return None
        pairs = [(self.ctx.code(item.key), self.ctx.code(item.value)) for item in group]
        comments = [_joined(item.comments) for item in group]
        indent = fixes.current_indent(self.ctx, self._levels)
        shared = fixes.keywords(group[0].shared.items())
        calls = [
            fixes.dict_call_code(callee, chunk, shared, indent, notes)
            for chunk, notes in zip(
                fixes.chunks(pairs, self.limit), fixes.chunks(comments, self.limit)
            )
        ]
        keys_literal = all(fixes.literal_string(item.key) is not None for item in group)
        safe = self._safe(group) and (keys_literal or self.runtime_duplicate_keys_safe)
        edit = NodeEdit(group[0].expr, group[-1].expr, _above(group) + "\n".join(calls))
        return PendingFix(
            f"Merge into one `{callee}` call", Safety.SAFE if safe else Safety.UNSAFE, [edit]
        )

    def _safe(self, group: list[_Item]) -> bool:
        """Whether merging keeps what is stored: no side effects to reorder or drop, and no
        handler that would let the program go on after a rejected item (the merged call
        stores none of the items where the separate calls stored those before it)."""
        return all(
            fixes.is_pure(item.key)
            and fixes.is_pure(item.value)
            and id(item.call) not in self.ctx.caught_calls
            and _valid_literal_key(item.key)
            for item in group
        ) and all(_synchronous(item) for item in group)

    # --- client groups: one `log_batch` -----------------------------------------------------
    def _finish_client(self, group: list[_Item]) -> None:
        if len(group) < self.option_values["min-calls"]:
            return
        first, last = group[0], group[-1]
        count = len(group)
        client = self.ctx.code(_receiver(first.call))
        run_id = self.ctx.code(first.bound["run_id"].value)
        counts = {kind: sum(i.found.name == kind for i in group) for kind in _KIND_ORDER}
        what = ", ".join(f"{n} `{kind}`" for kind, n in counts.items() if n)
        message = f"{count} consecutive `MlflowClient` calls ({what}) send {count} requests"
        _mark_covered(self.ctx, group)
        repeated = _repeated_key(self.ctx, group, by_kind=True)
        if repeated is not None:
            self._report_group(
                group,
                first.expr,
                f"{message}, and repeat the key {repeated}",
                None,
                last.expr,
                "One `log_batch` would reject the repeated key: log each key once, then "
                f"batch the calls with `{client}.log_batch({run_id}, ...)`",
            )
            return
        lists = [f"{name}=[...]" for kind, name in _BATCH_LISTS if counts[kind]]
        self._report_group(
            group,
            first.expr,
            message,
            self._client_fix(group, client, run_id),
            last.expr,
            f"Send them in one request with `{client}.log_batch({run_id}, {', '.join(lists)})`",
        )

    def _client_fix(self, group: list[_Item], client: str, run_id: str) -> Optional[PendingFix]:
        if any(item.reorders for item in group):
            return None
        first = group[0]
        if not (
            fixes.is_pure(_receiver(first.call)) and fixes.is_pure(first.bound["run_id"].value)
        ):
            return None  # `self._get_client().log_param(...)` twice: one call of it would do
        kinds = [item.found.name for item in group]
        in_batch_order = kinds == sorted(kinds, key=_KIND_ORDER.index)
        pure = all(fixes.is_pure(i.key) and fixes.is_pure(i.value) for i in group)
        if not in_batch_order and not pure:
            return None  # log_batch evaluates the metrics, then the params, then the tags
        needed = [
            imports.Wanted("mlflow.entities", _ENTITIES[kind])
            for kind in _KIND_ORDER
            if kind in kinds
        ]
        if any(i.found.name == "log_metric" and "timestamp" not in i.bound for i in group):
            needed.append(imports.Wanted("time"))
        top = self._top.get(id(group[0].call))
        function = self.ctx.enclosing(cst.FunctionDef)
        assert function is None or type(function) is cst.FunctionDef
        plan = imports.plan(self.ctx, needed, top, function) if top is not None else None
        if plan is None:
            return None
        spell = {w.name or w.module: plan.spellings[w] for w in needed}
        # one timestamp for the batch, as `mlflow.log_metrics` stamps one on all its metrics
        now = f"int({spell['time']}.time() * 1000)" if "time" in spell else ""
        stamped = sum(i.found.name == "log_metric" and "timestamp" not in i.bound for i in group)
        shared_stamp = stamped > 1 and not self.ctx.module_uses_names([TIMESTAMP])
        entries: dict[str, list[tuple[str, str]]] = {kind: [] for kind in _KIND_ORDER}
        # an entry sits two levels in: `client.log_batch(` then `metrics=[`; its comment after
        entry_indent = fixes.current_indent(self.ctx, self._levels) + 2 * len(fixes.INDENT)
        for item in group:
            key, value = self.ctx.code(item.key), self.ctx.code(item.value)
            if item.found.name == "log_metric":
                timestamp = item.bound.get("timestamp")
                stamp = (
                    self.ctx.code(timestamp.value)
                    if timestamp is not None
                    else TIMESTAMP
                    if shared_stamp
                    else now
                )
                step = item.bound.get("step")
                step_code = fixes.step_or_zero(self.ctx, step.value) if step is not None else "0"
                code = fixes.call_code(
                    spell["Metric"],
                    fixes.keywords(
                        [("key", key), ("value", value), ("timestamp", stamp), ("step", step_code)]
                    ),
                    entry_indent + len(_joined(item.comments)) + 3,
                )
            else:
                entity = spell["Param" if item.found.name == "log_param" else "RunTag"]
                pairs = [("key", key), ("value", fixes.as_string(self.ctx, item.value))]
                width = entry_indent + len(_joined(item.comments)) + 3
                code = fixes.call_code(entity, fixes.keywords(pairs), width)
            entries[item.found.name].append((code, _joined(item.comments)))
        synchronous = group[0].bound.get("synchronous")
        tail = [f"synchronous={self.ctx.code(synchronous.value)}"] if synchronous else []
        indent = fixes.current_indent(self.ctx, self._levels)
        commented = any(comment for entry in entries.values() for _, comment in entry)

        def render(one_line: bool) -> str:
            lists = [
                f"{name}={fixes.list_code(entries[kind], one_line)}"
                for kind, name in _BATCH_LISTS
                if entries[kind]
            ]
            callee = f"{client}.log_batch"
            return fixes.call_code(callee, [run_id, *lists, *tail], indent, not one_line)

        merged = render(one_line=True) if not commented else ""
        if not merged or "\n" in merged:
            merged = render(one_line=False)
        safe = (
            "log_metric" not in kinds
            and self._safe(group)
            and all(fixes.literal_string(item.key) is not None for item in group)
        )
        stamp_line = f"{TIMESTAMP} = {now}\n" if shared_stamp else ""
        content = _above(group) + stamp_line + merged
        edits = [*plan.edits, NodeEdit(group[0].expr, group[-1].expr, content)]
        return PendingFix(
            f"Merge into one `{client}.log_batch` call",
            Safety.SAFE if safe else Safety.UNSAFE,
            edits,
        )


@dataclass(frozen=True)
class _Place:
    """Where a call runs: on each iteration of a loop (`repeated`), in which function, and
    whether in an exception handler (between it and its function)."""

    repeated: bool
    function: Optional[cst.FunctionDef]
    handler: bool
    # in a run the function opens itself (`with mlflow.start_run():` around the call): once
    # per run however often the function is called
    own_run: bool = False
    # under `if score > best_score:` (context.is_improvement): a new best's few updates,
    # whatever the loop, the step or the function's name say
    improving: bool = False
    # in a loop that waits on each iteration (context.paced): a few requests at a time,
    # whatever the step says
    paced: bool = False
    # once per epoch of a training loop (frequency.per_epoch, runs_per_epoch): a few calls
    # there cost a request or two per epoch, what MLF101 leaves alone there
    epoch_level: bool = False
    # in a metrics interface that takes no step, looping over what it is handed: held like
    # the loop rules hold it (frequency.called_once_per_run)
    interface: bool = False


def _epoch_loop(loop: cst.CSTNode) -> bool:
    """A training loop's epoch loop that trains in each iteration (not a history replayed)."""
    return frequency.per_epoch(loop) and frequency.trains_each_iteration(loop)


def _per_step(item: _Item) -> bool:
    """A metric logged at a step that is not a constant: logged again at the next step."""
    step = item.bound.get("step")
    if step is None or isinstance(step.value, (cst.Integer, cst.Float)):
        return False
    return not (type(step.value) is cst.Name and step.value.value == "None")


def _groups(
    ctx: FileContext,
    statements: Sequence[cst.BaseStatement],
    client: bool,
    kinds: tuple[str, ...],
) -> list[list[_Item]]:
    """Runs of adjacent one-call statements of `kinds` with equal group keys (fluent calls, or
    client calls on the same client and run)."""
    groups: list[list[_Item]] = []
    group: list[_Item] = []
    for statement in statements:
        item = _item(ctx, statement, client, kinds)
        if item is not None and group and group[-1].group_key == item.group_key:
            group.append(item)
            continue
        if group:
            groups.append(group)
        group = [item] if item is not None else []
    if group:
        groups.append(group)
    return groups


_FLUENT_SHARED = {
    "log_metric": ("step", "synchronous"),
    "log_param": ("synchronous",),
    "set_tag": ("synchronous",),
}
_FLUENT_FORBIDDEN = {"log_metric": ("timestamp", "run_id", "model_id", "dataset")}
# Client calls: per item, besides key and value (everything else must be shared or absent).
_CLIENT_PER_ITEM = {"log_metric": ("timestamp", "step"), "log_param": (), "set_tag": ()}


def _item(
    ctx: FileContext, statement: cst.BaseStatement, client: bool, kinds: tuple[str, ...]
) -> Optional[_Item]:
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return None
    expr = statement.body[0]
    if type(expr) is not cst.Expr or type(expr.value) is not cst.Call:
        return None
    call = expr.value
    found = ctx.api_call(call)
    if found is None or found.is_client != client or found.name not in kinds:
        return None
    bound = fixes.bind_arguments(call, found.signature)
    if bound is None or "key" not in bound or "value" not in bound:
        return None
    if client:
        if "run_id" not in bound:
            return None
        per_item = {"key", "value", *_CLIENT_PER_ITEM[found.name]}
        shared_names = [n for n in bound if n not in per_item]
        if set(shared_names) - {"run_id", "synchronous"}:
            return None  # dataset_name=, model_id=, ...: not carried by the entities
        shared = {name: ctx.code(bound[name].value) for name in shared_names}
        if not all(fixes.is_pure(bound[n].value) for n in shared_names if n != "run_id"):
            return None
        group_key: tuple[str, ...] = (
            "client",
            ctx.code(_receiver(call)),
            shared["run_id"],
            shared.get("synchronous", ""),
        )
        order = [n for n in bound if n in per_item]
        expected = [n for n in ("key", "value", "timestamp", "step") if n in order]
        pure = all(fixes.is_pure(bound[n].value) for n in order)
        reorders = order != expected and not pure
        item_shared: dict[str, str] = {}
    else:
        if any(name in bound for name in _FLUENT_FORBIDDEN.get(found.name, ())):
            return None
        shared_params = _FLUENT_SHARED[found.name]
        if set(bound) - {"key", "value", *shared_params}:
            return None  # model_id=, dataset=, ...: not expressible in the batched form
        item_shared = {name: ctx.code(bound[name].value) for name in shared_params if name in bound}
        if not all(fixes.is_pure(bound[name].value) for name in item_shared):
            return None
        group_key = ("fluent", ctx.code(call.func), *(f"{n}={c}" for n, c in item_shared.items()))
        # `bound` is in the order the arguments are written; the rest are pure shared ones
        in_order = list(bound)[:2] == ["key", "value"]
        pure = fixes.is_pure(bound["key"].value) and fixes.is_pure(bound["value"].value)
        reorders = not in_order and not pure
    key, value = bound["key"].value, bound["value"].value
    return _Item(
        statement,
        expr,
        call,
        found,
        key,
        value,
        group_key,
        reorders,
        bound,
        [line.comment.value for line in statement.leading_lines if line.comment is not None],
        item_shared,
    )


def _receiver(call: cst.Call) -> cst.BaseExpression:
    assert type(call.func) is cst.Attribute
    return call.func.value


def _own_comments(
    statement: cst.SimpleStatementLine, key: cst.BaseExpression, value: cst.BaseExpression
) -> list[str]:
    """The comments of a call statement that are not inside its key or value code (those
    move with the code): among its arguments, and at the end of its line."""
    inside = {id(c) for c in fixes.comments_in(key)} | {id(c) for c in fixes.comments_in(value)}
    found = [
        c.value
        for c in fixes.comments_in(statement.with_changes(leading_lines=()))
        if id(c) not in inside
    ]
    return found


def _joined(comments: list[str]) -> str:
    return "  ".join(comments)


def _above(group: list[_Item]) -> str:
    """The comment lines between the calls, above the merged call."""
    lines = [comment for item in group[1:] for comment in item.leading]
    return "".join(f"{line}\n" for line in lines)


def _mark_covered(ctx: FileContext, group: list[_Item]) -> None:
    """Calls a batching finding covers: MLF101 does not report them again."""
    ctx.covered.update(id(item.call) for item in group)


def _reporter(group: list[_Item], enabled: frozenset[str]) -> Optional[str]:
    """The rule that reports a client group: the one of the kind it holds most of."""
    counts = {kind: sum(item.found.name == kind for item in group) for kind in _KIND_ORDER}
    ranked = sorted(
        (kind for kind in _KIND_ORDER if counts[kind] and KIND_RULE[kind] in enabled),
        key=lambda kind: (-counts[kind], _KIND_ORDER.index(kind)),
    )
    return KIND_RULE[ranked[0]] if ranked else None


def _repeated_key(ctx: FileContext, group: list[_Item], by_kind: bool = False) -> Optional[str]:
    """The first key written twice in the group (the same literal, or the same code,
    whatever it evaluates to), as the message shows it; None when every key differs."""
    seen: dict[tuple[str, str], cst.BaseExpression] = {}
    for item in group:
        identity = (item.found.name if by_kind else "", key_identity(ctx, item.key))
        if identity in seen:
            key = seen[identity]
            literal = fixes.literal_string(key)
            return repr(literal) if literal is not None else f"`{ctx.code(key)}`"
        seen[identity] = item.key
    return None


def _shared_hint(item: _Item) -> str:
    return "".join(f", {name}={code}" for name, code in item.shared.items())


def _synchronous(item: _Item) -> bool:
    """`synchronous=False` (asynchronous logging): a rejected item is only logged, so a
    rejected batch loses every item silently."""
    argument = item.bound.get("synchronous")
    return argument is None or (type(argument.value) is cst.Name and argument.value.value == "True")


def _valid_literal_key(key: cst.BaseExpression) -> bool:
    """A key the server cannot reject (a literal that passes MLflow's key validation), or a
    key computed at run time (judged by the caller)."""
    literal = fixes.literal_string(key)
    return literal is None or api.valid_key(literal)


@shared_doc("{where_reported}", _WHERE_REPORTED)
class ConsecutiveLogMetric(ConsecutiveCalls):
    """
    ## What it does
    Flags two or more adjacent `mlflow.log_metric` statements that log to the same run with
    the same `step` (or none) and the same `synchronous` flag, with nothing but blank lines
    and comments between them; and adjacent `MlflowClient` calls on the same client and run
    (`client.log_metric(run_id, ...)`, mixed with `log_param` and `set_tag` calls), when most
    of them log metrics.

    ## Why is this bad
    Each `log_metric` call is one REST request (`POST runs/log-metric`) and one database write
    transaction. `mlflow.log_metrics({...}, step=...)` sends up to 1,000 metrics in a single
    `runs/log-batch` request (and MLflow's client splits larger batches itself), and
    `MlflowClient.log_batch(run_id, metrics=[...], params=[...], tags=[...])` sends metrics,
    params and tags together. Measured against a local `mlflow server`: 100 `log_metric`
    calls took 5.4 s, one `log_metrics` with 100 keys took 72 ms.

    ## Fix safety
    Fluent calls: the fix is safe when the keys are distinct string literals that MLflow
    accepts, the keys and values are free of side effects (names, attributes, literals,
    arithmetic, `float()`, `.item()` and similar), the calls are synchronous, and no `try`
    around them in the same function has a handler that could let the program go on: the same
    metrics with the same values and step are logged, evaluated in the same order. Two things
    differ. `log_metrics` stamps one timestamp on the whole batch, where the separate calls
    were milliseconds apart. And if MLflow rejects one of the values (a value that is not a
    number), the separate calls had stored the metrics before it, while the batch is rejected
    whole; the program raises at that point either way, which is why a handler that could
    catch the error makes the fix unsafe. Otherwise (a key computed at run time could repeat,
    a value that calls a function could fail after earlier metrics were sent) the fix is
    unsafe. Either way each key and value is evaluated once, in its original order wherever
    the order could matter; the `step` (the same code in every call, and free of side effects)
    is evaluated once, after them.

    `MlflowClient` calls: the fix (one `client.log_batch`, imports of `Metric`, `Param`,
    `RunTag` and `time` added where missing) is unsafe when it holds metrics: each `Metric`
    is stamped when the batch is built (milliseconds after the separate calls would have
    been), and `MlflowClient.log_metric` links each metric to the active model of
    `mlflow.set_active_model` (MLflow 3), which a `Metric` in a batch does not.

    Comments are kept: each call's comment follows its entry in the merged call (one entry
    per line), and comment lines between the calls go above it.

    ## Not flagged
    Calls with different steps (fluent; client metrics carry a step each), a `timestamp=`,
    `run_id=`, `model_id=` or `dataset=` on a fluent call, a `step` or `synchronous` with side
    effects (`step=next(counter)`), calls whose result is used, calls on different clients or
    runs, and calls separated by other statements. Calls that repeat a key are reported
    without a fix: a batch with a duplicate key is rejected and a dict keeps only the last
    value. A call that writes its value before its key, or its `step` before them
    (`log_metric(value=v(), key=k())`), with side effects in its key or value, gets no fix:
    the merged call evaluates each key, then its value, and the step last.

    {where_reported}
    """

    code = "MLF102"
    name = "consecutive-log-metric"
    summary = "Adjacent `log_metric` calls: one request each where one `log_metrics` would do."
    triggers = frozenset({"log_metric"})
    single = "log_metric"
    limit = api.MAX_METRICS_PER_BATCH


@shared_doc("{where_reported}", _WHERE_REPORTED)
class ConsecutiveLogParam(ConsecutiveCalls):
    """
    ## What it does
    Off by default; enable it with `--select MLF103` (or `extend-select = ["MLF103"]`).
    Flags two or more adjacent `mlflow.log_param` statements (same `synchronous` flag, nothing
    but blank lines and comments between them, result not used), and adjacent `MlflowClient`
    calls on the same client and run (`client.log_param(run_id, ...)`, mixed with `log_metric`
    and `set_tag` calls) when most of them log params.

    ## Why is this bad
    Each `log_param` is one REST request (`POST runs/log-parameter`) and one database
    transaction; `mlflow.log_params({...})` sends up to 100 params in one `runs/log-batch`
    request (the client splits larger dicts itself), and `client.log_batch(run_id,
    params=[...])` does the same for a client. A block of 20 hyperparameters costs 20
    requests instead of one.

    Why it is off by default: a run stores each param once (MLflow refuses a changed
    value), so adjacent `log_param` calls run once per run in working code, never per step:
    a block of 20 costs 19 requests once per run, next to a training loop's thousands. On
    real code, hand-judged, 1 of 8 such findings was worth acting on. The loops that log
    params item by item are still reported by default (MLF105, MLF106), and `mlflow-lint
    fix --select MLF103` merges blocks safely where a project wants them merged.

    ## Fix safety
    Safe when the keys are distinct string literals that MLflow accepts, keys and values are
    free of side effects, the calls are synchronous, and no `try` around them in the same
    function has a handler that could let the program go on: the same params with the same
    values (value expressions are kept as written, so `1` stays `1`: params compare as
    strings) are logged in one request. The one difference is on failure: when MLflow rejects
    one of the params (a key already logged with another value), the separate calls stored
    the params before it, while the server validates a batch before storing any of it; the
    program raises at that point either way. Unsafe otherwise (a key computed at run time
    could repeat; a value that calls a function could fail after earlier params were stored);
    each key and value is still evaluated once, in its original order wherever the order
    could matter. For `MlflowClient` calls the fix writes one `client.log_batch` with
    `Param(key=..., value=str(...))` entities (`log_param` converts values with `str()` too)
    and the same rules decide its safety, unless the group also holds metrics (see MLF102).
    Comments are kept beside their entries.

    ## Not flagged
    Calls separated by other statements, on different clients or runs, or whose result is
    used. Calls that repeat a key (the same string literal, or the same code whatever it
    evaluates to: `log_param(k, 1); log_param(k, 2)`) are reported without a fix: changing a
    param raises at run time ("Changing param values is not allowed"), a batch with a
    duplicate key is rejected even when the values match, and a dict would keep the last
    value and hide both. A call that writes its value (or `synchronous`) before its key
    (`log_param(value=v(), key=k())`), with side effects in its key or value, gets no fix:
    the merged dict evaluates each key before its value.

    {where_reported}
    """

    code = "MLF103"
    name = "consecutive-log-param"
    summary = (
        "Adjacent `log_param` calls: one request each where one `log_params` would do (opt-in)."
    )
    triggers = frozenset({"log_param"})
    default_enabled = False
    single = "log_param"
    limit = api.MAX_PARAMS_TAGS_PER_BATCH


@shared_doc("{where_reported}", _WHERE_REPORTED)
class ConsecutiveSetTag(ConsecutiveCalls):
    """
    ## What it does
    Flags two or more adjacent `mlflow.set_tag` statements (same `synchronous` flag, nothing
    but blank lines and comments between them), and adjacent `MlflowClient` calls on the
    same client and run (`client.set_tag(run_id, ...)`, mixed with `log_metric` and
    `log_param` calls) when most of them set tags.

    ## Why is this bad
    Each `set_tag` is one REST request (`POST runs/set-tag`) and one database transaction;
    `mlflow.set_tags({...})` sends up to 100 tags in one `runs/log-batch` request, and
    `client.log_batch(run_id, tags=[...])` does the same for a client.

    ## Fix safety
    Safe when keys and values are free of side effects, the calls are synchronous, the
    literal keys are ones MLflow accepts, and no `try` around them in the same function has a
    handler that could let the program go on, even when the keys are computed at run time:
    tags are mutable and the last write wins, also within one batch, and a dict keeps the
    last value for a key, so two different key expressions that turn out equal
    (`set_tag(a, "x"); set_tag(b, "y")` with `a == b`) end with the same tag value either way.
    On failure (a value MLflow rejects) the separate calls had stored the tags before it, the
    batch none; the program raises at that point either way. Unsafe when a key or value has
    side effects; each is still evaluated once, in its original order wherever the order
    could matter. For `MlflowClient` calls the fix writes one `client.log_batch` with
    `RunTag(key=..., value=str(...))` entities (`set_tag` converts values with `str()` too);
    it is safe under the same conditions with literal keys, unless the group also holds
    metrics (see MLF102). Comments are kept beside their entries.

    ## Not flagged
    Calls separated by other statements, or on different clients or runs. Calls that repeat
    a key in the code (the same string literal, or the same code: `set_tag(k, "x");
    set_tag(k, "y")`) are reported without a fix: MLflow would accept the merged batch and
    store the last value, which is what the separate calls leave behind, but the dict would
    hold the key twice with its first value silently dropped (dead code that other linters
    report as a repeated dict key), and a key set twice in a few lines is most likely a
    mistake. A call that writes its value (or `synchronous`) before its key (`set_tag(value=
    v(), key=k())`), with side effects in its key or value, gets no fix.

    {where_reported}
    """

    code = "MLF104"
    name = "consecutive-set-tag"
    summary = "Adjacent `set_tag` calls: one request each where one `set_tags` would do."
    triggers = frozenset({"set_tag"})
    single = "set_tag"
    limit = api.MAX_PARAMS_TAGS_PER_BATCH
    runtime_duplicate_keys_safe = True
