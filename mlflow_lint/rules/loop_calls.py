"""Base for rules about MLflow calls made on every iteration of a loop: directly, or through
functions defined in the same module that the loop calls (to a bounded depth)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Callable, ClassVar, Optional

import libcst as cst

from mlflow_lint import fixes, frequency
from mlflow_lint.context import Branches, LoopFrame, contains, exclusive, is_test_code
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.rule import PendingFix, Report, shared_doc
from mlflow_lint.rules.per_item_loop import mapping_loop


def _same_run_frames(found: ApiCall, call: cst.Call, frames: list[LoopFrame]) -> list[LoopFrame]:
    """Frames up to the first loop that changes the client call's run: `for run_id in ids:
    client.set_tag(run_id, ...)` (or `for run in runs: rid = run.info.run_id; ...`) logs to
    a different run on each iteration."""
    bound = fixes.bind_arguments(call, found.signature) or {}
    run_id = bound.get("run_id")
    if run_id is None:
        return frames
    kept = []
    for frame in frames:
        if fixes.uses_names(run_id.value, fixes.loop_bound_names(frame.loop)):
            break
        kept.append(frame)
    return kept


# In a script's own code (once per run), fewer written-out calls than this are not reported:
# MLF102-MLF104's default `min-calls-once`, and a loop over a written-out collection alike.
WRITTEN_OUT_ONCE = 10

# The "Not flagged" paragraph of the rules about request counts in loops, put in their
# docstrings by `documents_paced`.
PACED_NOT_FLAGGED = """\
Polling, interactive and job-running loops: the loop waits on each iteration
(`time.sleep`, `asyncio.sleep`, `event.wait(...)`, `condition.wait()`,
`queue.get(timeout=...)`, or a private alias such as `self._sleep(...)` where a test swaps
in a fake clock), reads input (`input()`, `click.prompt(...)`, `click.confirm(...)`,
`Prompt.ask(...)`) or runs a child process to its end (`subprocess.run(...)`,
`subprocess.check_call(...)`, `os.system(...)`, `proc.communicate()`: a sweep agent that
launches each trial): its requests come a few at a time, at the pace of the poll, the
person or the job. Nor, in a script's own code (in no function and no other loop), a loop
over a written-out collection of fewer than ten items (`for k in ["precision", "recall",
"mAP50", "mAP50-95"]:`): as many requests as that many written-out calls, once per run,
which MLF102-MLF104 do not report there either. Nor a call under a test for a new best
(`if val_acc > self.best_acc:`, `if loss < best_loss:`, `if is_best:`, also joined to a
first-time test, `if epoch == 1 or val_f1 >= best_f1:`): it runs when a result improves, a
few times over a training, not on each step."""
documents_paced = shared_doc("{paced}", PACED_NOT_FLAGGED)


def branches_taken(ancestors: Sequence[cst.CSTNode], loop: cst.CSTNode) -> Branches:
    """The `if`s between `loop` and the node being visited, each with the branch taken."""
    if loop not in ancestors:
        return ()
    inside = list(ancestors[list(ancestors).index(loop) + 1 :])
    return tuple(
        (id(node), 0 if child is node.body else 1)
        for node, child in zip(inside, inside[1:])
        if type(node) is cst.If
    )


@dataclass
class _Run:
    """Findings of one kind at adjacent statements of one block: one finding."""

    kind: tuple[object, ...]
    block: cst.IndentedBlock
    index: int  # the block's statement that holds the last call
    calls: int
    report: Report


class LoopCallRule(frequency.HoldsOncePerRun):
    # Whether `if step % N == 0:` guards still count (they do for correctness rules).
    include_throttled: ClassVar[bool] = False
    # Whether a client call whose run id comes from the loop counts only within one run (true
    # for writes: each iteration logs to another run; false for reads: that is the N+1).
    same_run_only: ClassVar[bool] = True
    # Whether test code (test modules, `tests/` folders, `test_*` functions) is left alone:
    # for rules about request counts, which a test's throwaway store does not feel.
    skips_test_code: ClassVar[bool] = False
    # Whether the rule is about request counts, which a loop over a written-out handful
    # (`for split in ("train", "test")`) does not multiply by more than that handful; false
    # for rules about what gets stored (every point on step 0), which a handful breaks too.
    counts_requests: ClassVar[bool] = True
    # Whether a write that logs each item under its own key, guarded item by item (`try:
    # log_param(k, v) except ...: continue`), counts as once per run even in a logging
    # interface: a batch would fail as a whole where the loop loses only the bad item (see
    # isolated_item and frequency.once_per_run_entries).
    guards_items: ClassVar[bool] = False
    # Whether a direct call flagged in another branch of an `if` in the same loop is left
    # out (MLF101 keeps every call for its loop's fix and leaves the echoes out itself).
    one_finding_per_branch_pair: ClassVar[bool] = True
    # Whether a script's own loop over fewer than WRITTEN_OUT_ONCE written-out items is left
    # out like as many written-out calls (the write rules; reads keep issue #12's handful).
    holds_written_out_loops: ClassVar[bool] = True

    def wanted(self, found: ApiCall, call: cst.Call) -> bool:
        raise NotImplementedError

    def requests_only(
        self, found: Optional[ApiCall], call: cst.Call, frames: list[LoopFrame]
    ) -> bool:
        """Whether the finding `call` would get here is about request counts alone (not about
        what gets stored): such a finding is left out where the loop runs a fixed handful
        of times once per run (see frequency.once_per_run_entries). `found` is None for a
        call of a helper of this file."""
        return self.counts_requests

    def flag(
        self, node: cst.Call, found: ApiCall, call: cst.Call, frames: list[LoopFrame], via: str
    ) -> None:
        """Report: `node` is the call in the loop; `call` the MLflow call (the same node, or
        one inside a helper reached through `via`, e.g. "train_epoch -> log_stats")."""
        raise NotImplementedError

    def setup(self) -> None:
        # calls of local functions, decided in finish(): a helper defined further down the
        # file is summarised only once the walk reaches it
        self._helper_calls: list[tuple[cst.Call, list[LoopFrame]]] = []
        self._guarded_helper_sites: list[tuple[cst.Call, str]] = []
        # helper calls in a loop over a mapping's entries, held once per run (see finish())
        self._held_entry_helpers: list[cst.Call] = []
        self._interface_helpers: list[cst.Call] = []
        # helper calls handed the item of a loop that may run once per run (see finish())
        self._item_keyed_helper_sites: list[tuple[cst.Call, str, frozenset[str]]] = []
        self._site_function: dict[int, str] = {}  # helper call in a loop -> its function's name
        self._flagged: set[int] = set()
        # (loop, MLflow function, client?) -> the branches of the direct calls flagged there
        self._branch_sites: dict[tuple[int, str, bool], list[Branches]] = {}
        self._run: Optional[_Run] = None  # see report_adjacent()
        self._statement_positions: dict[int, dict[int, int]] = {}  # block -> statement -> index

    def frames(self, node: cst.CSTNode) -> list[LoopFrame]:
        """The loops that repeat `node` (visited now) and count for this rule. The rules
        that share these settings share the answer."""
        key = f"loop-call-frames:{id(node)}:{len(self.ctx.ancestors)}:{self._frame_settings()}"
        frames: list[LoopFrame] = self.ctx.memo(key, lambda: self._frames(node))
        return list(frames)

    @classmethod
    @cache
    def _frame_settings(cls) -> str:
        """The settings _frames() reads, spelled once per rule class (asked on every call)."""
        settings = (
            cls.skips_test_code,
            cls.include_throttled,
            cls.counts_requests,
            cls.holds_written_out_loops,
        )
        return "".join("1" if setting else "0" for setting in settings)

    def _frames(self, node: cst.CSTNode) -> list[LoopFrame]:
        if self.skips_test_code and self._in_test_code():
            return []
        kept = []
        loops = self.ctx.loops(node)
        outermost = loops[-1].loop if loops else None
        for frame in loops:
            mapping = mapping_loop(self.ctx, frame.loop)
            if mapping is not None:  # MLF105's business: the loop, and the call it makes
                if mapping.call is node:
                    return []
                continue
            # (a running best's updates: a few over a training, and its latest value is
            # the one read, whatever the step)
            if (
                frame.at_most_once
                or frame.improving
                or (frame.throttled and not self.include_throttled)
            ):
                continue
            # a written-out handful, the folds of a cross-validation, or a loop that waits
            # on each iteration (a poll, a prompt): its requests come a few at a time, at
            # the pace of the wait
            if self.counts_requests and (
                self.ctx.fixed_handful(frame.loop)
                or self.ctx.per_fold(frame.loop)
                or self.ctx.paced(frame.loop)
                or (frame.loop is outermost and self.written_out_once(frame.loop))
            ):
                continue
            kept.append(frame)
        return kept

    def written_out_once(self, loop: cst.CSTNode) -> bool:
        """A script's own loop over a written-out collection of fewer items than MLF102-MLF104
        report there (`for k in ["precision", "recall", "mAP50", "mAP50-95"]:`, in no other
        loop and no function): as many requests as written-out calls, once per run."""
        if not self.holds_written_out_loops:
            return False
        length = self.ctx.literal_length(loop)
        return (
            length is not None
            and length < WRITTEN_OUT_ONCE
            and self.ctx.enclosing_function() is None
        )

    def _in_test_code(self) -> bool:
        if self.ctx.memo("test-module", lambda: is_test_code(self.ctx.path)):
            return True
        function = self.ctx.enclosing_function()
        return function is not None and is_test_code(self.ctx.path, function)

    def visit_Call(self, node: cst.Call) -> None:
        found = self.ctx.api_call(node)
        if found is not None and not self.wanted(found, node):
            return
        if found is None:
            if not self.ctx.callee_is_local(node):
                return
            frequency.note_helper_site(self.ctx, node)
        frames = self.frames(node)
        if found is not None and found.is_client and self.same_run_only:
            frames = _same_run_frames(found, node, frames)
        if not frames:
            return
        if self.requests_only(found, node, frames):
            # in a loop over a set of names that may run once per run: held, see finish()
            guarded = (
                found is not None and self.guards_items and self.isolated_item(found, node, frames)
            )
            once = frequency.once_per_run_call(self.ctx, frames, node, found, guarded)
            if once is not None:
                self.hold(node, once)
                if found is None and frequency.entries_of(frames[0].loop) is not None:
                    self._held_entry_helpers.append(node)
                if found is None and once.startswith(frequency.INTERFACE_PREFIX):
                    self._interface_helpers.append(node)
            if once is None and found is None and len(frames) == 1:
                # a helper handed the item: held if it logs each item under its own key
                # (known once the walk has summarised the helper, finish())
                item = self._passed_item(node, frames)
                if item is not None:
                    once = frequency.once_per_run_call(self.ctx, frames, node, found, key=item)
                    if once is not None and not once.startswith(frequency.INTERFACE_PREFIX):
                        bound = fixes.loop_bound_names(frames[0].loop)
                        self._item_keyed_helper_sites.append((node, once, bound))
                    once = None
            interface = once is not None and once.startswith(frequency.INTERFACE_PREFIX)
            if (once is None or interface) and (
                found is None and self.guards_items and self._passed_item(node, frames) is not None
            ):
                # a logging interface calling a helper that guards its own write: whether it
                # does is known once the walk has summarised the helper (finish())
                once = frequency.once_per_run_call(self.ctx, frames, node, found, guarded=True)
                if once is not None:
                    self._guarded_helper_sites.append((node, once))
        if found is None:
            self._helper_calls.append((node, frames))
            function = self.ctx.enclosing_function()
            if function is not None:
                self._site_function[id(node)] = function.name.value
            return
        self._flagged.add(id(node))
        if self.one_finding_per_branch_pair and self._branch_echo(node, found, frames):
            return
        self.flag(node, found, node, frames, "")

    def _branch_echo(self, node: cst.Call, found: ApiCall, frames: list[LoopFrame]) -> bool:
        """The same call was flagged in another branch of an `if` in this loop (`log_param(k,
        v)` for a scalar, else `log_param(k, str(v))`): one request per iteration either
        way, one problem."""
        taken = branches_taken(self.ctx.ancestors, frames[0].loop)
        if not taken:
            return False
        group = (id(frames[0].loop), found.name, found.is_client)
        earlier = self._branch_sites.setdefault(group, [])
        if any(exclusive(taken, other) for other in earlier):
            return True
        earlier.append(taken)
        return False

    def isolated_item(self, found: ApiCall, call: cst.Call, frames: list[LoopFrame]) -> bool:
        """A write of one item per iteration, each under its own key and at no step (or a
        constant one), in a `try` inside the loop whose handler goes on to the next item:
        the code keeps every good item when one fails (a value the server rejects, a param
        logged before with another value). Batched, one bad item fails the whole request,
        so the one request per item is the price of that choice, not an oversight."""
        loop = frames[0].loop
        if not self.ctx.in_catching_try(within=loop):  # the cheap test first
            return False
        bound = fixes.bind_arguments(call, found.signature) or {}
        key, step = bound.get("key"), bound.get("step")
        if key is None or not fixes.uses_names(key.value, fixes.loop_bound_names(loop)):
            return False
        return step is None or type(step.value) is cst.Integer

    def _passed_item(self, call: cst.Call, frames: list[LoopFrame]) -> Optional[cst.Name]:
        """A name the loop binds that the helper call hands on (`self._log_suite(model,
        suite)`): the item it logs, as the key a held call would log; None if it hands none
        on."""
        bound = fixes.loop_bound_names(frames[0].loop)
        for arg in call.args:
            for name in bound:
                if fixes.uses_names(arg.value, [name]):
                    return cst.Name(name)
        return None

    def _helper_keys_name_item(self, call: cst.Call, bound: frozenset[str]) -> bool:
        """Every write this rule wants that the helper `call` invokes makes in its own body
        logs a key built from a parameter the call hands the loop's item
        (`mlflow.log_metric(f"success_{suite.name}", ...)`, also through a name the helper
        assigns from it), at no step or a constant one: each item logs its own key, as if
        the loop made the call itself."""
        helper = self.ctx.local_function(call)
        if helper is None:
            return False
        function = helper.node
        params = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
        if type(call.func) is cst.Attribute and params[:1] in (["self"], ["cls"]):
            params = params[1:]
        names: set[str] = set()
        for index, arg in enumerate(call.args):
            if arg.star or not fixes.uses_names(arg.value, bound):
                continue
            if arg.keyword is not None:
                names.add(arg.keyword.value)
            elif index < len(params):
                names.add(params[index])
        if not names:
            return False
        names |= frequency.names_assigned_from(function, names)
        writes = [
            (found, node)
            for found, node, chain in self.ctx.reachable_api_calls(helper, site=call)
            if self.wanted(found, node)
        ]
        for found, node in writes:
            if not any(node is n for _, n in helper.api_calls):
                return False  # in a deeper helper: not followed
            bound_args = fixes.bind_arguments(node, found.signature) or {}
            key, step = bound_args.get("key"), bound_args.get("step")
            if key is None or not fixes.uses_names(key.value, names):
                return False
            if step is not None and type(step.value) is not cst.Integer:
                return False
        return bool(writes)

    def _writes_through_a_client(self, call: cst.Call) -> bool:
        """The helper `call` invokes reaches a write this rule wants made through a client
        (`client.log_param(run_id, ...)`): it names its run, like an export tool's."""
        helper = self.ctx.local_function(call)
        return helper is not None and any(
            found.is_client and self.wanted(found, node)
            for found, node, _ in self.ctx.reachable_api_calls(helper, site=call)
        )

    def _guards_own_writes(self, call: cst.Call) -> bool:
        """Every write this rule wants that the helper `call` invokes reaches is made in a
        block of its function that goes on after an error (`with suppress(Exception):
        client.log_param(...)`), at no step or a constant one: the helper is the loop's
        per-item guard (see isolated_item)."""
        helper = self.ctx.local_function(call)
        if helper is None:
            return False
        writes = [
            (found, node)
            for found, node, _ in self.ctx.reachable_api_calls(helper, site=call)
            if self.wanted(found, node)
        ]
        for found, node in writes:
            step = (fixes.bind_arguments(node, found.signature) or {}).get("step")
            if id(node) not in self.ctx.caught_calls or (
                step is not None and type(step.value) is not cst.Integer
            ):
                return False
        return bool(writes)

    def finish(self) -> None:
        for node in self._interface_helpers:
            if self._writes_through_a_client(node):
                self.unhold(node)  # a client interface, as if the loop made the call itself
        for node, once in self._guarded_helper_sites:
            if self._guards_own_writes(node):
                self.hold(node, once)
        for node, once, bound in self._item_keyed_helper_sites:
            if self._helper_keys_name_item(node, bound):
                self.hold(node, once)
        for node in self._held_entry_helpers:
            helper = self.ctx.local_function(node)
            if helper is not None and frequency.walks_itself(self.ctx, helper.node):
                self.unhold(node)  # each entry walked leaf by leaf: a nested config
        self.release_held()
        seen: set[tuple[int, int]] = set()
        sites = []
        for node, frames in self._helper_calls:
            # a call a batching finding covers (a mapping logged item by item, MLF105) is
            # reported there, once
            reached = self.ctx.helper_call(
                node,
                lambda found, call: (
                    self.wanted(found, call)
                    and id(call) not in self._flagged
                    and id(call) not in self.ctx.covered
                ),
            )
            if reached is not None:
                sites.append((node, frames, reached))
        recursion = self._recursion_echoes([(node, reached[1]) for node, _, reached in sites])
        outer = self._outer_echoes(
            [(node, reached) for node, _, reached in sites if id(node) not in recursion]
        )
        for node, frames, (found, call, chain) in sites:
            # one finding per loop and MLflow call: the helper called from several
            # branches of the loop (`if a: log(x) else: log(y)`) is one problem
            if (id(frames[0].loop), id(call)) in seen or id(node) in recursion | outer:
                continue
            seen.add((id(frames[0].loop), id(call)))
            self.flag(node, found, call, frames, f"{chain} -> {found.qualname}")

    def _recursion_echoes(self, sites: list[tuple[cst.Call, cst.Call]]) -> set[int]:
        """Of the helper calls in loops (each with the MLflow call it reaches), the recursive
        ones (`def log_tree(prefix, node): for k, v in node.items(): log_tree(...)`) that
        echo another: the loop that calls the recursion from outside reports the walk, and
        a recursion with no such caller is reported at its first loop. One problem (flatten
        the tree, then log it in one batch), one finding."""
        by_target: dict[int, list[tuple[cst.Call, bool]]] = {}
        for node, call in sites:
            helper = self.ctx.local_function(node)
            is_recursive = helper is not None and contains(helper.node, node)
            by_target.setdefault(id(call), []).append((node, is_recursive))
        echoes: set[int] = set()
        for group in by_target.values():
            recursive = [node for node, is_recursive_call in group if is_recursive_call]
            if len(recursive) < len(group):
                echoes.update(id(node) for node in recursive)
            else:
                echoes.update(id(node) for node in recursive[1:])
        return echoes

    def _outer_echoes(
        self, sites: list[tuple[cst.Call, tuple[ApiCall, cst.Call, str]]]
    ) -> set[int]:
        """Of the helper calls in loops, those whose chain passes through a function that
        reaches the same MLflow call from a loop of its own (`for trial in trials:
        log_params(run, trial)`, with `log_params` calling `log_one(k, v)` for each item):
        the inner loop is where the requests multiply and where the fix goes; the outer
        one echoes it. One problem, one finding. (A recursion's own calls are not among
        `sites`: its walk is reported where it starts, see _recursion_echoes.)"""
        inner: dict[int, set[str]] = {}
        for node, (_, call, _) in sites:
            function = self._site_function.get(id(node))
            if function is not None:
                inner.setdefault(id(call), set()).add(function)
        echoes: set[int] = set()
        for node, (_, call, chain) in sites:
            passes = set(chain.split(" -> ")) - {self._site_function.get(id(node), "")}
            if passes & inner.get(id(call), set()):
                echoes.add(id(node))
        return echoes

    def report_adjacent(
        self,
        node: cst.Call,
        kind: tuple[object, ...],
        message: Callable[[int], str],
        help: Callable[[int], str],
        fix: Optional[PendingFix] = None,
    ) -> None:
        """Report the call `node` (visited now) as one finding with the calls of the same
        `kind` flagged at the statements right before it in its block, each a statement of
        its own (`log_param("lr", lr)` then `log_param("seed", seed)` in one loop): one
        problem, one finding, whose fix makes every call's edits. `message` and `help` say
        it for a number of calls."""
        place = self._statement_place(node)
        kind = (*kind, fix is not None, self.__dict__.get("_held_keys", {}).get(id(node)))
        run = self._run
        if (
            place is not None
            and run is not None
            and run.kind == kind
            and run.block is place[0]
            and run.index + 1 == place[1]
        ):
            run.index += 1
            run.calls += 1
            extended = run.report
            extended.message, extended.help, extended.end_node = (
                message(run.calls),
                help(run.calls),
                node,
            )
            if extended.fix is not None and fix is not None:  # (both or neither: see kind)
                extended.fix = replace(extended.fix, edits=[*extended.fix.edits, *fix.edits])
            return
        report = self.report(node, message(1), fix, help=help(1))
        self._run = (
            _Run(kind, place[0], place[1], 1, report)
            if place is not None and report is not None
            else None
        )

    def _statement_place(self, node: cst.Call) -> Optional[tuple[cst.IndentedBlock, int]]:
        """The block and index of the statement that is just the call `node` (visited now)."""
        ancestors = self.ctx.ancestors
        if len(ancestors) < 3:
            return None
        expression, line, block = ancestors[-1], ancestors[-2], ancestors[-3]
        if (
            type(expression) is not cst.Expr
            or expression.value is not node
            or type(line) is not cst.SimpleStatementLine
            or len(line.body) != 1
            or type(block) is not cst.IndentedBlock
        ):
            return None
        positions = self._statement_positions.get(id(block))
        if positions is None:  # once per block: a long loop body may hold many such calls
            positions = {id(statement): index for index, statement in enumerate(block.body)}
            self._statement_positions[id(block)] = positions
        index = positions.get(id(line))
        return (block, index) if index is not None else None

    def loops_phrase(self, frames: list[LoopFrame]) -> str:
        if len(frames) == 1:
            return "in a loop"
        loops = " > ".join(self.ctx.loop_label(f.loop) for f in reversed(frames))
        return f"{len(frames)} loops deep ({loops})"
