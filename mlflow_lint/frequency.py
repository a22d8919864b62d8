"""How often code runs, as far as one file tells: once per run, or on every step.

The rules about request counts report what grows with the data (a call per step, per batch,
per file, per run of a listing) and leave alone what runs a fixed handful of times once per
run: hand-judged on real code, those findings were not worth acting on. This module holds
what they share to tell the two apart: the functions a file calls in a loop, the functions
named for a step, and the loops over a mapping's entries in code that runs once per run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Optional

import libcst as cst

from mlflow_lint.context import (
    FileContext,
    LoopFrame,
    iter_children,
    loop_nodes,
    parameter_names,
    unwrapped,
    uses_names,
)
from mlflow_lint.fixes import bind_arguments, loop_bound_names, target_names
from mlflow_lint.mlflow_api import (
    FLUENT_LOGGING,
    RUN_WRITES,
    UNBATCHED_PARAM,
    UNBATCHED_TAG,
    ApiCall,
)
from mlflow_lint.names import words
from mlflow_lint.rule import PendingFix, Report, Rule, shared_doc

_FOLD = re.compile("fold", re.IGNORECASE)
_EPOCH = re.compile("epoch", re.IGNORECASE)
_BATCH_WORDS = frozenset({"batch", "batches", "step", "steps", "iteration", "iter"})
_STEP_WORDS = frozenset({"step", "steps", "batch", "batches", "epoch", "epochs", "iteration"})
# Words in the name of a function that logs what its caller hands it (`log_params(self,
# params)`, `_log_metrics`, `set_tags`, `log_hyperparams`): an interface, called as often
# and with as much as its callers like.
_LOGGING_NOUNS = frozenset(
    {
        *("metric", "metrics", "param", "params", "tag", "tags"),
        *("hyperparams", "hparams", "hyperparameters", "scalars", "stats"),
    }
)
# Words in the name of a mapping made flat from a nested configuration (`params_flat`,
# `flat_config`): one entry per leaf of every section, open-ended, from a few entries to
# hundreds. A mapping named for a configuration alone (`self.config`, `cfg`) or an object
# dumped whole (`vars(args)`) holds one schema's fields, like a run's metrics or tags.
_FLAT_WORDS = frozenset({"flat", "flattened"})
_VIEWS = frozenset({"items", "keys", "values"})
_WRAPPERS = frozenset({"enumerate", "sorted", "list", "tuple", "reversed"})

# The "Not flagged" paragraph of the rules that hold such loops once per run (MLF101, MLF106):
# one text, put in their docstrings by `documents_once_per_run`.
ONCE_PER_RUN_NOT_FLAGGED = """\
A loop over a set of names in a script's own code (in no function: a script, or a
notebook's cells, runs once per process) or in a function that runs once per run: a
mapping's entries (`for name, value in scores.items():`), or any collection when each item
logs its own key (`for entry in leaderboard: mlflow.log_metric(f"score_{entry.name}",
...)`), also through a helper of the file handed the item whose own calls log a key built
from it (`for suite in suites: self._log_suite(model, suite)`). For a function, once per
run means: not called in a loop of the module, not named for a step, batch or epoch
(`on_epoch_end`), and not handed a step (`def record(results, step)`; a count such as
`batch_size` or `epochs` is none), nor logging with a `step` other than a constant (a
fold's number, `step=fold_idx`, counts a cross-validation's handful of folds); none
of these three matters when the function opens the run itself, `with mlflow.start_run():`
around the loop: each call is a run of its own).
Such a set is a schema's worth of names (a run's metrics, a model's params, a
leaderboard, a few tags, the fields of one configuration object: `self.config.items()`,
`vars(args)`, `asdict(cfg)`, `args.dict()`): a handful to a few dozen requests once per
run, which on real code, hand-judged, was not worth acting on. Nested loops over names are
such a set too when the key names the item of every loop (`for split in splits: for name,
value in scores[split].items(): mlflow.log_metric(f"{split}_{name}", value)`), also
through a name the loops assign from their items (`key = f"{model}_{metric}"`). So is a
loop that guards each item's write (`try: ... except ...: continue` in the loop, or `with
suppress(Exception):` around the write in the helper it calls for each item), whatever it
walks, in such a function or script: a batch would fail as a whole where such a loop loses
only the bad item, so its one request per item is a choice once per run. On a path that
repeats (called in a loop, named for a step, or logging at a `step` that changes) a guarded
loop is still reported: its requests grow with the steps.

Still reported: the same loop nested in another loop that the key does not name (`for
epoch in range(epochs): for name, value in scores.items(): ...`), logging one key over
many items, over every leaf of a nested configuration
(a flattened dict: `flatten_dict(cfg)`, `params_flat`; or a function that calls itself
for each nested mapping) or a document loaded whole (`json.loads(text)`,
`yaml.safe_load(f)`): open-ended, up to hundreds of entries; over a history keyed by step
(`for step, value in history.items()`); in a logging interface that logs the metrics its
caller hands it at a step it is given (`def log_metrics(self, metrics, step=None)`: its
callers log on every step); in one that logs params through a client
(`client.log_param(run_id, ...)` names its run: trackers for a sweep's trials and export
tools write many runs from one process, a config each), unless it guards each item (see
above), opens the run itself (each call is a run of its own) or logs into the run its
object created in `__init__` (`self.run = self.client.create_run(...)`: one object, one
run, configured once); and in a metrics
interface that takes no step and logs into the active run (`def log_metrics(self,
metrics):`) when this file calls it in a loop, even one that opens a run per item (a
sweep's runs add up). Called nowhere else in the file, such an interface is held: metrics
logged with no step are summary values (a caller on every step would pile all its points
on step 0), logged once per run, which on real code, hand-judged, was mostly not worth
acting on. An interface that sets tags or logs params into the active run (`def
set_tags(self, tags):`, `def log_params(self, params):`) is held like the rest: a run's
labels and configuration, set once (a run takes one value per param key)."""


documents_once_per_run = shared_doc("{once_per_run}", ONCE_PER_RUN_NOT_FLAGGED)


# The key of code that logs into a run its function opens itself: never repeated.
OWN_RUN_KEY = "own-run"
# The key of a script's own code (in no function): never repeated.
SCRIPT_KEY = "script"
# Prefixes the key of a metrics interface (see once_per_run_entries): held only when no
# call of it in the file repeats, not even in a loop that opens a run per item.
INTERFACE_PREFIX = "interface:"


def step_named(function: Optional[cst.FunctionDef]) -> bool:
    """A function named for a step, batch or epoch (`on_train_batch_end`, `log_step`): a
    trainer calls it on each one."""
    return function is not None and not _STEP_WORDS.isdisjoint(words(function.name.value))


def note_helper_site(ctx: FileContext, call: cst.Call) -> None:
    """Call during the walk at a call of a function of this file: noted when the call runs
    on each iteration of a loop (not a written-out handful), for repeated_functions()."""

    def note() -> None:
        key = ctx.local_callee(call)
        if key is None:
            return
        frames = ctx.repeating_loops()
        if frames and not _descends(ctx, frames, key):
            _looped_helpers(ctx).add(key)
        elif any(not f.at_most_once for f in ctx.loops(through_runs=True)):
            # in a loop after all: one that opens a run per item (a sweep), or a handful
            _sites(ctx, "in-any-loop").add(key)
        elif ctx.enclosing_function() is None:
            _sites(ctx, "script").add(key)  # a script's own call: once per process

    ctx.memo(f"frequency.site:{id(call)}", note)


def _descends(ctx: FileContext, frames: list[LoopFrame], key: str) -> bool:
    """A function that calls itself in a loop over a mapping's entries (`for k, v in
    d.items(): ... walk(v)`): it descends into a nested mapping, once per call of its own
    caller, not once per iteration of anything."""
    if len(frames) != 1 or entries_of(frames[0].loop) is None:
        return False
    function = ctx.enclosing_function()
    return function is not None and ctx.function_key(function) == key


def _looped_helpers(ctx: FileContext) -> set[str]:
    looped: set[str] = ctx.memo("frequency.looped-helpers", set)
    return looped


def _sites(ctx: FileContext, kind: str) -> set[str]:
    """Keys of the functions this file calls at a site of that kind (note_helper_site)."""
    called: set[str] = ctx.memo(f"frequency.sites-{kind}", set)
    return called


def called_once_per_run(ctx: FileContext, key: str, repeated: set[str]) -> bool:
    """No call of the function `key` in this file repeats: none in a loop, not even one
    that opens a run per iteration (a sweep's or a benchmark's: its requests add up over
    the runs), and none in a function the file calls in a loop. `repeated`:
    repeated_functions(). Complete after the walk."""
    return key not in _sites(ctx, "in-any-loop") and key not in repeated


def reported_keys(ctx: FileContext, keys: set[str]) -> set[str]:
    """Which of the held `keys` (once_per_run_entries) are reported after all: those of
    functions the file calls in a loop, and those of metrics interfaces it calls in any
    loop. Complete after the walk."""
    repeated = repeated_functions(ctx)
    for key in keys:
        if key.startswith(INTERFACE_PREFIX):
            function = key[len(INTERFACE_PREFIX) :]
            if not called_once_per_run(ctx, function, repeated):
                repeated.add(key)
    return repeated


def repeated_functions(ctx: FileContext) -> set[str]:
    """Keys of the functions this file calls in a loop, and of those they call, transitively.
    Complete after the walk (each rule that asks notes the sites it sees)."""
    repeated = set(_looped_helpers(ctx))
    todo = list(repeated)
    while todo:
        summary = ctx.functions.get(todo.pop())
        for callee, _ in summary.helper_calls if summary else ():
            if callee not in repeated:
                repeated.add(callee)
                todo.append(callee)
    return repeated


def entries_of(loop: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """`D` when `loop` walks a mapping's entries: `for k, v in D.items()`, `.keys()`,
    `.values()`, also through `enumerate(...)` or `sorted(...)`."""
    iterable = collection(loop)
    if (
        type(iterable) is cst.Call
        and not iterable.args
        and type(iterable.func) is cst.Attribute
        and iterable.func.attr.value in _VIEWS
    ):
        return iterable.func.value
    return None


def collection(loop: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """What a loop walks, unwrapped from `enumerate(...)`, `sorted(...)` and the like."""
    if type(loop) is cst.For:
        iterable: cst.BaseExpression = loop.iter
    elif isinstance(loop, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
        iterable = loop.for_in.iter
    else:
        return None
    return unwrapped(iterable, _WRAPPERS)


# Words that make a parameter named for steps a quantity or a setting (`batch_size`,
# `epochs`, `num_steps`, `max_epochs`, `steps_per_epoch`), not the step a call is made at.
_QUANTITY_WORDS = frozenset(
    {"size", "sizes", "num", "n", "nb", "max", "min", "count", "total", "per", "len", "limit"}
)
_STEP_POINT_WORDS = frozenset({"step", "batch", "epoch", "iteration"})


def _given_a_step(function: cst.FunctionDef) -> bool:
    """`def log_results(self, results, step)`, `epoch_idx`: its callers call it on each step
    (not `batch_size`, `epochs` or `max_steps`: how many, said once)."""
    for param in (*function.params.params, *function.params.kwonly_params):
        named = words(param.name.value)
        if not _STEP_POINT_WORDS.isdisjoint(named) and _QUANTITY_WORDS.isdisjoint(named):
            return True
    return False


def logging_interface(function: cst.FunctionDef, mapping: cst.BaseExpression) -> bool:
    """A function that logs the mapping its caller hands it, named for what it logs
    (`def log_params(self, params): for k, v in params.items(): ...`): an interface whose
    callers decide how often and how much."""
    if type(mapping) is not cst.Name:
        return False  # `run.data.tags`: a run's own entries, not the caller's mapping
    if mapping.value not in parameter_names(function) - {"self", "cls"}:
        return False
    return not _LOGGING_NOUNS.isdisjoint(words(function.name.value))


def _made_flat(mapping: cst.BaseExpression) -> bool:
    """Every leaf of a nested configuration: `flatten_dict(cfg)`, `self.flat_params`, or a
    document loaded whole (`json.loads(text)`): open-ended."""
    if _open_ended(mapping):
        return True
    node = mapping
    while type(node) is cst.Attribute:
        if not _FLAT_WORDS.isdisjoint(words(node.attr.value)):
            return True
        node = node.value
    return type(node) is cst.Name and not _FLAT_WORDS.isdisjoint(words(node.value))


def walks_itself(ctx: FileContext, function: cst.FunctionDef) -> bool:
    """The function calls itself (`walk(value)`, `self.log_nested(value, prefix=key)`): it
    visits every leaf of a nested mapping, as many entries as a flattened one."""
    name = function.name.value

    def compute() -> bool:
        for node in loop_nodes(function.body):  # its own body, not nested definitions
            if type(node) is cst.Call:
                func = node.func
                if (type(func) is cst.Name and func.value == name) or (
                    type(func) is cst.Attribute
                    and func.attr.value == name
                    and type(func.value) is cst.Name
                    and func.value.value in ("self", "cls")
                ):
                    return True
        return False

    walks: bool = ctx.memo(f"frequency.walks-itself:{id(function)}", compute)
    return walks


def _target_names(loop: cst.CSTNode) -> set[str]:
    """The names a loop binds to each item (its `for` target, a comprehension's too)."""
    if type(loop) is cst.For:
        return set(target_names(loop.target))
    if isinstance(loop, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
        return set(target_names(loop.for_in.target))
    return set()


def _item_names(ctx: FileContext, loop: cst.CSTNode) -> set[str]:
    """The names that hold a loop's item: its target, and the names its body assigns from
    them (`key = f"{model}_{metric}"`, `safe = name.replace(" ", "_")`), which a key may use
    instead of the item itself."""

    def compute() -> set[str]:
        names = _target_names(loop)
        return names | _assigned_from(loop_nodes(loop), names)

    found: set[str] = ctx.memo(f"frequency.item-names:{id(loop)}", compute)
    return found


def _assigned_from(nodes: Iterable[cst.CSTNode], names: set[str]) -> set[str]:
    """The names that `nodes` assign (plain `name = ...`) from `names`, or from names so
    assigned: a name assigned from one that holds an item holds it too."""
    assignments = [
        (target.target.value, node.value)
        for node in nodes
        if type(node) is cst.Assign
        for target in node.targets
        if type(target.target) is cst.Name
    ]
    return _grown(assignments, set(names), uses_names) - names


def _grown(
    assignments: list[tuple[str, cst.BaseExpression]],
    found: set[str],
    holds: Callable[[cst.BaseExpression, set[str]], bool],
) -> set[str]:
    """`found` and every name assigned a value that `holds` of the names found so far, until
    no assignment adds one (`b = f(a)` then `c = b.x`: both, from `a`)."""
    grown = True
    while grown:
        grown = False
        for name, value in assignments:
            if name not in found and holds(value, found):
                found.add(name)
                grown = True
    return found


def names_assigned_from(function: cst.FunctionDef, names: set[str]) -> set[str]:
    """The names `function`'s body assigns from `names` (`suite_name = suite.get_name()`)."""
    return _assigned_from(loop_nodes(function.body), names)  # its own body


def _steps_as_keys(loop: cst.CSTNode) -> bool:
    """`for step, value in history.items()`: a metric's history keyed by step, not names."""
    if type(loop) is not cst.For:
        return False
    target: cst.BaseExpression = loop.target
    if type(target) is cst.Tuple and target.elements:
        target = target.elements[0].value
    return type(target) is cst.Name and not _STEP_WORDS.isdisjoint(words(target.value))


class HoldsOncePerRun(Rule):
    """A rule whose findings at some nodes wait for the end of the walk: reported only if
    the file calls the function they are in (its key, from once_per_run_entries) in a loop.
    Subclasses call hold() before reporting such a node, and release_held() first thing in
    finish()."""

    def hold(self, node: cst.CSTNode, key: str) -> None:
        self.__dict__.setdefault("_held_keys", {})[id(node)] = key

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        fix: Optional[PendingFix] = None,
        end_node: Optional[cst.CSTNode] = None,
        help: str = "",
    ) -> Optional[Report]:
        key = self.__dict__.get("_held_keys", {}).get(id(node))
        if key is not None:
            repeated: Optional[set[str]] = self.__dict__.get("_repeated")
            if repeated is None:  # still walking: emitted by release_held(), if at all
                report = Report(self, node, message, fix, end_node, help)
                self.__dict__.setdefault("_held", []).append((key, report))
                return report
            if key not in repeated:
                return None
        return super().report(node, message, fix, end_node, help)

    def unhold(self, node: cst.CSTNode) -> None:
        """Report `node` after all, wherever its function runs (call before release_held)."""
        self.__dict__.get("_held_keys", {}).pop(id(node), None)

    def release_held(self) -> None:
        held = self.__dict__.get("_held_keys")
        self._repeated = reported_keys(self.ctx, set(held.values())) if held else set()
        for key, report in self.__dict__.pop("_held", []):
            if key in self._repeated:
                self._emit(report)


def once_per_run_entries(
    ctx: FileContext,
    frames: list[LoopFrame],
    key: Optional[cst.BaseExpression] = None,
    step: Optional[cst.BaseExpression] = None,
    guarded: bool = False,
    call: Optional[cst.Call] = None,
    configures_run: bool = False,
    client: bool = False,
) -> Optional[str]:
    """Call during the walk, with the loops that repeat the node being visited and, for a
    logging call, its `key` and `step` arguments. The key of its function when the only
    such loop walks a set of names (a mapping's entries, or any collection when the logged
    key changes with each item: a metrics dict, a model's params, a leaderboard, a run's
    tags: a schema's worth of names) in a function that is neither named for a step, nor
    given one, nor a logging interface: once per run, a fixed handful of requests, unless
    the file calls that function in a loop (ask repeated_functions() after the walk). None
    when the node repeats with the data (nested loops whose items the key does not all name,
    one key over many items, any `step` but a constant). SCRIPT_KEY for a script's own
    code, which runs once per process.
    `guarded`: the write is guarded item by item (LoopCallRule.isolated_item), which makes
    a logging interface's one request per item a choice; it is then held like the rest.
    `call`: the logging call, when known; in a run its function opens itself
    (`log_optimization_step` under `with mlflow.start_run():`), the function's name and
    parameters say nothing about steps: each call is a run of its own. `configures_run`: the
    call sets a tag or logs a param into the active run (see configures_run()): an
    interface that sets the tags or logs the params its caller hands it (`def
    set_tags(self, tags)`, `def log_params(self, params)`) labels and configures a run once,
    like the set-up code that calls it (a run takes one value per param key: logging params
    on every step raises). A metrics interface that takes no step (into the active run, not
    through a `client`, which names the run it writes and serves tools that write many)
    logs summary values; it gets INTERFACE_PREFIX before its key: held only if no call of
    it in the file repeats (see called_once_per_run)."""
    mappings = []
    for frame in frames:
        loop = frame.loop
        if len(frames) > 1 and (key is None or not uses_names(key, _item_names(ctx, loop))):
            return None  # nested loops repeat a key unless each loop's item is in it
        mapping = entries_of(loop)
        if mapping is None and key is not None and uses_names(key, loop_bound_names(loop)):
            mapping = collection(loop)  # one key per item: as many requests as names
        if mapping is None or _steps_as_keys(loop) or (_made_flat(mapping) and not guarded):
            return None
        mappings.append(mapping)
    if not mappings:
        return None
    if step is not None and not (
        type(step) is cst.Integer
        or (type(step) is cst.Name and (step.value == "None" or _FOLD.search(step.value)))
    ):
        # `step=self.global_step`: on every step; `step=i`: a history (a fold's number,
        # `step=fold_idx`, counts a handful of folds, each logged once)
        return None
    function = ctx.enclosing_function()
    if function is None:
        # a script's own code (a notebook's cells too) runs once per process: once per run
        return SCRIPT_KEY
    own_run = call is not None and ctx.in_own_run(call)
    if not own_run and (step_named(function) or _given_a_step(function)):
        return None
    # a run of its own: once per run, however often the module calls the function
    held_key = OWN_RUN_KEY if own_run else ctx.function_key(function)
    if guarded:  # each item's write is guarded: one request per item is a choice
        return held_key
    interface = False
    for mapping in mappings:
        if logging_interface(function, mapping) and not configures_run and not own_run:
            # (an interface that opens its run logs into a run of its own)
            if client:
                return None
            interface = True
        if type(mapping) is cst.Name and _open_ended_in(function, mapping.value):
            return None
    if entries_of(frames[0].loop) is not None and walks_itself(ctx, function):
        return None  # a nested mapping walked leaf by leaf: every section's entries
    return INTERFACE_PREFIX + held_key if interface else held_key


def once_per_run_call(
    ctx: FileContext,
    frames: list[LoopFrame],
    call: cst.Call,
    found: Optional[ApiCall],
    guarded: bool = False,
    key: Optional[cst.BaseExpression] = None,
) -> Optional[str]:
    """once_per_run_entries() for a call in those loops, with the `key` and `step` it logs
    (none for a call of a helper of this file: `found` None, unless `key` stands for the
    keys it logs). Several rules ask it of the
    same call at the same point of the walk: answered once for each set of loops."""

    def compute() -> Optional[str]:
        bound = (bind_arguments(call, found.signature) or {}) if found is not None else {}
        logged, step = bound.get("key"), bound.get("step")
        own = found is not None and object_run(ctx, call, found)
        return once_per_run_entries(
            ctx,
            frames,
            key if key is not None else logged.value if logged is not None else None,
            step.value if step is not None else None,
            guarded,
            call,
            found is not None and (configures_run(found) or own),
            found is not None and found.is_client and not own,
        )

    loops = ",".join(str(id(frame.loop)) for frame in frames)
    as_key = "" if key is None else ctx.code(key)
    held: Optional[str] = ctx.memo(f"once-per-run:{id(call)}:{loops}:{guarded}:{as_key}", compute)
    return held


def configures_run(found: ApiCall) -> bool:
    """A call that sets a tag (`set_tag`), or logs a param into the active run (fluent
    `log_param`): a run's labels and configuration, set once per run. A client's
    `log_param(run_id, ...)` names its run: code that writes many runs from one process
    (trackers for a sweep's trials, export and migration tools) logs a config per run."""
    return found.name in UNBATCHED_TAG or (found.name in UNBATCHED_PARAM and not found.is_client)


def object_run(ctx: FileContext, call: cst.Call, found: ApiCall) -> bool:
    """A client's `log_param` / `set_tag` into the run its object created for itself
    (`self.client.log_param(self.run_id, ...)` where `__init__` did `self.run =
    client.create_run(...)` and `self.run_id = self.run.info.run_id`): one object, one run,
    so the object's params interface configures one run once, like a fluent call into the
    active run."""
    if not found.is_client or found.name not in UNBATCHED_PARAM | UNBATCHED_TAG:
        return False
    run_id = (bind_arguments(call, found.signature) or {}).get("run_id")
    if run_id is None or type(run_id.value) is not cst.Attribute:
        return False
    owner = run_id.value.value
    if type(owner) is not cst.Name or owner.value != "self":
        return False
    cls = ctx.enclosing(cst.ClassDef)
    if type(cls) is not cst.ClassDef:
        return False
    return run_id.value.attr.value in _runs_created_in_init(ctx, cls)


def _runs_created_in_init(ctx: FileContext, cls: cst.ClassDef) -> set[str]:
    """The attributes of `self` that `__init__` sets to a run it creates (`create_run`,
    `start_run`), or to what is read from one (`self.run.info.run_id`)."""

    def compute() -> set[str]:
        init = next(
            (s for s in cls.body.body if type(s) is cst.FunctionDef and s.name.value == "__init__"),
            None,
        )
        if init is None:
            return set()
        assignments = [
            (target.target.attr.value, node.value)
            for node in loop_nodes(init.body)
            if type(node) is cst.Assign
            for target in node.targets
            if type(target.target) is cst.Attribute
            and type(target.target.value) is cst.Name
            and target.target.value.value == "self"
        ]
        return _grown(assignments, set(), _creates_or_reads_run)

    runs: set[str] = ctx.memo(f"frequency.init-runs:{id(cls)}", compute)
    return runs


def _creates_or_reads_run(value: cst.BaseExpression, runs: set[str]) -> bool:
    todo: list[cst.CSTNode] = [value]
    while todo:
        node = todo.pop()
        if type(node) is cst.Call:
            func = node.func
            name = func.attr.value if type(func) is cst.Attribute else getattr(func, "value", "")
            if name in ("create_run", "start_run"):
                return True
        if (
            type(node) is cst.Attribute
            and type(node.value) is cst.Name
            and node.value.value == "self"
            and node.attr.value in runs
        ):
            return True
        todo.extend(iter_children(node))
    return False


def _open_ended_in(function: cst.FunctionDef, name: str) -> bool:
    """`name = flatten_dict(config)` or `name = json.loads(text)` in the function (see
    _open_ended): a nested config made flat, or a document loaded whole."""
    for node in _statements(function.body):
        for small in node.body if type(node) is cst.SimpleStatementLine else ():
            if (
                type(small) is cst.Assign
                and any(
                    type(t.target) is cst.Name and t.target.value == name for t in small.targets
                )
                and _open_ended(small.value)
            ):
                return True
    return False


def _statements(block: cst.BaseSuite) -> list[cst.BaseStatement]:
    """The statements of a block and of the blocks nested in it (not nested functions)."""
    found: list[cst.BaseStatement] = []
    todo = list(block.body) if type(block) is cst.IndentedBlock else []
    while todo:
        statement = todo.pop()
        found.append(statement)
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        for child in (getattr(statement, "body", None), getattr(statement, "orelse", None)):
            if type(child) is cst.IndentedBlock:
                todo.extend(child.body)
            elif isinstance(child, (cst.If, cst.Else)) and isinstance(
                child.body, cst.IndentedBlock
            ):
                if type(child) is cst.If:  # an elif: its own body and orelse follow
                    todo.append(child)
                else:
                    todo.extend(child.body.body)
    return found


def _open_ended(value: cst.BaseExpression) -> bool:
    """A nested config made flat (`flatten_dict(config)`) or a document loaded whole
    (`json.loads(text)`, `yaml.safe_load(f)`). A function of this file that returns one is
    not followed: its body may be elided (elision.py), and must not decide a finding."""
    return _calls_flatten(value) or _loads_a_document(value)


def _calls_flatten(value: cst.BaseExpression) -> bool:
    if type(value) is not cst.Call:
        return False
    func = value.func
    name = func.attr.value if type(func) is cst.Attribute else getattr(func, "value", "")
    return isinstance(name, str) and any(word.startswith("flat") for word in words(name))


# Calls that read a whole document into a mapping: as many entries as the file has, where an
# object dumped whole (`vars(args)`, `asdict(cfg)`, `args.dict()`) has its class's fields.
_DOCUMENT_LOADS = frozenset({"loads", "safe_load"})


def _loads_a_document(value: cst.BaseExpression) -> bool:
    return (
        type(value) is cst.Call
        and type(value.func) is cst.Attribute
        and value.func.attr.value in _DOCUMENT_LOADS
    )


def per_epoch(loop: cst.CSTNode) -> bool:
    """Whether a loop runs once per epoch of a training loop: its body has a per-batch loop
    of its own, or its variable is named after epochs, or it counts them (`for t in
    range(epochs)`, `range(1, args.num_epochs + 1)`). A loop whose variable is named after
    batches or steps (`for batch_idx, (x, y) in enumerate(loader)`) is per batch, whatever
    its body loops over (the callbacks of each batch)."""
    if type(loop) is cst.For:
        names = target_names(loop.target)
        if any(_EPOCH.search(name) for name in names):
            return True
        if any(not _BATCH_WORDS.isdisjoint(words(name)) for name in names):
            return False
        if _counts_epochs(loop.iter):
            return True
    if not isinstance(loop, (cst.For, cst.While)):
        return False
    todo: list[cst.CSTNode] = list(iter_children(loop.body))
    while todo:
        node = todo.pop()
        # loops are statements: no need to look into simple statements (expressions)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.SimpleStatementLine)):
            continue
        if type(node) is cst.While or (type(node) is cst.For and per_item(node)):
            return True
        todo.extend(iter_children(node))
    return False


def _counts_epochs(iterable: cst.BaseExpression) -> bool:
    """`range(epochs)`, `tqdm(range(1, cfg.n_epochs + 1))`: a count of epochs."""
    iterable = unwrapped(iterable, ("tqdm", "enumerate"))
    if (
        type(iterable) is not cst.Call
        or type(iterable.func) is not cst.Name
        or iterable.func.value not in ("range", "trange")
    ):
        return False
    bound = iterable.args[-1].value if len(iterable.args) <= 2 and iterable.args else None
    todo: list[cst.CSTNode] = [bound] if bound is not None else []
    while todo:
        node = todo.pop()
        if type(node) is cst.Name and _EPOCH.search(node.value):
            return True
        if type(node) is cst.Attribute:
            if _EPOCH.search(node.attr.value):
                return True
            todo.append(node.value)
        elif type(node) is cst.BinaryOperation:
            todo.extend((node.left, node.right))
    return False


def per_item(loop: cst.For) -> bool:
    """A `for` over something that is not a literal collection or a dict's items: a loop
    over data (batches, samples), not over a handful of named values."""
    iterator = loop.iter
    if isinstance(iterator, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        return False
    return not (
        type(iterator) is cst.Call
        and type(iterator.func) is cst.Attribute
        and iterator.func.attr.value in ("items", "keys", "values")
    )


def runs_per_epoch(function: cst.FunctionDef) -> bool:
    """A function that runs once per epoch of a training loop: one whose own body loops over
    batches (`for batch_idx, (x, y) in enumerate(loader)`), for the code it runs after that
    loop (a `train_step(model, loader, epoch)` that trains one epoch); else one named for an
    epoch and not for a batch or step (`on_epoch_end`, `log_epoch_metrics`), or handed an
    epoch and no step or batch (`def log_training_metrics(self, epoch, train_loss)`)."""
    for node in loop_nodes(function.body):
        if type(node) is cst.For and any(
            not _BATCH_WORDS.isdisjoint(words(name)) for name in target_names(node.target)
        ):
            return True
    named = set(words(function.name.value))
    if not named.isdisjoint(_BATCH_WORDS):
        return False  # `on_train_batch_end`, `log_step`: per batch, whatever it is handed
    if "epoch" in named or "epochs" in named:
        return True
    handed = [set(words(name)) for name in parameter_names(function)]
    return any("epoch" in w for w in handed) and all(w.isdisjoint(_BATCH_WORDS) for w in handed)


# Calls that do no training: conversions, containers, messages, random demo values, logging.
_NO_WORK = frozenset(
    {
        *("round", "float", "int", "str", "bool", "len", "abs", "min", "max", "sum", "print"),
        *("enumerate", "range", "zip", "sorted", "list", "dict", "tuple", "set", "isinstance"),
        *("append", "extend", "items", "keys", "values", "get", "update", "item", "format"),
        *("random", "uniform", "randint", "normal", "time", "perf_counter", "monotonic"),
        *("info", "debug", "warning", "write", "set_description", "set_postfix"),
    }
)


def trains_each_iteration(loop: cst.CSTNode) -> bool:
    """Whether each iteration of `loop` does work besides logging: a loop of its own (over
    batches) or a call of something that is not a conversion, a container's method, a
    message, a random demo value or an MLflow write (`train_one_epoch(model, loader)`,
    `model.fit(...)`). A loop that only logs what it already holds (a history replayed
    point by point) sends its requests in one burst, however its variable is named."""
    body = getattr(loop, "body", None)
    if body is None:
        return False
    for node in loop_nodes(body):
        if type(node) in (cst.For, cst.While):
            return True
        if type(node) is cst.Call:
            func = node.func
            name = (
                func.attr.value
                if type(func) is cst.Attribute
                else func.value
                if type(func) is cst.Name
                else None
            )
            if name is None or not (
                name in _NO_WORK or name in FLUENT_LOGGING or name in RUN_WRITES
            ):
                return True
    return False
