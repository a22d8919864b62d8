from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Optional, Union

import libcst as cst

from mlflow_lint import fixes
from mlflow_lint import mlflow_api as api
from mlflow_lint.context import iter_children
from mlflow_lint.elision import code_text
from mlflow_lint.mlflow_api import ApiCall
from mlflow_lint.names import dotted_name, words
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, Safety
from mlflow_lint.rules.lifecycle import (
    SCOPES,
    active_run_names,
    callee_name,
    calls_in,
    is_client_call,
    is_fluent,
    is_main_guard,
    says_end,
    tests_active_run,
)

Block = Union[cst.IndentedBlock, cst.Module]
_JUMPS = (cst.Return, cst.Break, cst.Continue, cst.Yield, cst.Await)
# What can fail between `start_run()` and `end_run()`: a call, an explicit raise, a suspension.
_MAY_FAIL = (cst.Call, cst.Raise, cst.Yield, cst.Await)
_FUNCTIONS = (cst.FunctionDef, cst.Lambda)
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
# Calls that cannot leave a run open however they end: logging and printing.
# A function named for one of these starts a run for its callers (`start_logging`).
_STARTING = frozenset({"start", "begin", "init", "initialize", "initialise", "setup", "launch"})
_LOGGERS = frozenset({"logger", "_logger", "log", "_log", "logging", "LOGGER", "LOG", "warnings"})
# Calls that only turn a value into what a logging call takes, and mapping views to loop over.
_CONVERSIONS = frozenset({"str", "int", "float", "round", "len", "bool", "sorted", "enumerate"})
_MAPPING_VIEWS = frozenset({"items", "keys", "values"})
# Methods that keep what they are given on their receiver: `self._runs.append(run)`.
_STORING_METHODS = frozenset(
    {
        *("append", "add", "put", "insert", "setdefault", "appendleft"),
        # written out for another process (a pipeline's next step resumes the run by its id)
        *("write", "write_text", "dump", "safe_dump"),
    }
)
# The statement notebook.py puts between two cells of a notebook's virtual module.
_CELL_BOUNDARY = re.compile(r"#\s*nbcell-*:cell\s*$")

_CORE_HELP = (
    "Use `with mlflow.start_run():`, which marks the run FAILED when an exception escapes, or "
    "end it in a `finally:` block. Left open, the run of a script that crashed is marked "
    "FINISHED by MLflow's exit handler, and in a process that lives on (a server, a notebook, "
    "a test session) it stays RUNNING"
)
_NOTEBOOK_HELP = (
    "End it with `mlflow.end_run()` in a final cell (a `with` block cannot span cells). Until "
    "then it stays RUNNING: a cell that raises leaves it active, and later cells log into it; "
    "restarting the kernel marks it FINISHED, and a killed kernel leaves it RUNNING"
)
_METHOD_HELP = (
    "End the run in the class's teardown hook (`on_train_end`, `after_run`, `close`, "
    '`__exit__`) with `mlflow.end_run()`, passing `status="FAILED"` when the work failed. '
    "Left open, MLflow's exit handler marks it FINISHED even after a crash, and in a process "
    "that lives on it stays RUNNING"
)
_FUNCTION_HELP = (
    "Wrap the work in `with mlflow.start_run():`, which marks the run FAILED when an exception "
    "escapes; where the run must outlive this function, end it in the teardown hook with "
    '`mlflow.end_run()`, passing `status="FAILED"` on error. Left open, MLflow\'s exit '
    "handler marks it FINISHED even after a crash, and in a process that lives on (a server, "
    "a notebook, a test session) it stays RUNNING"
)


@dataclass(frozen=True)
class _Start:
    """A `start_run()` statement and where it stands."""

    statements: Sequence[cst.BaseStatement]  # its block
    index: int  # its place in the block
    call: cst.Call
    name: Optional[str]  # `run = mlflow.start_run()`
    unit: str  # the block's indentation unit, for the fix
    chain: tuple[cst.CSTNode, ...]  # the ancestors from the module down to its block

    @property
    def scope(self) -> Union[cst.FunctionDef, cst.Lambda, cst.Module]:
        """The function whose code it is, or the module."""
        for node in reversed(self.chain):
            if isinstance(node, _FUNCTIONS):
                return node
        module = self.chain[0]
        assert type(module) is cst.Module
        return module

    def scope_chain(self) -> tuple[cst.CSTNode, ...]:
        """The ancestors from the scope (excluded) down to the block."""
        scope = self.scope
        if type(scope) is cst.Module:
            return self.chain[1:]
        return self.chain[self.chain.index(scope) + 1 :]

    def following(self) -> Iterator[tuple[cst.BaseStatement, int]]:
        """The statements of its scope that run after it, innermost block first, each with the
        index of the module-level statement that holds it (-1 inside a function)."""
        blocks: list[tuple[Sequence[cst.BaseStatement], int]] = [(self.statements, self.index)]
        chain = self.scope_chain()
        for position in range(len(chain) - 2, -1, -1):
            node, child = chain[position], chain[position + 1]
            if type(node) is cst.IndentedBlock and isinstance(child, cst.BaseStatement):
                blocks.append((node.body, list(node.body).index(child)))
        module_level = type(self.scope) is cst.Module
        top = self._top_index() if module_level else -1
        module = self.chain[0]
        if module_level and type(module) is cst.Module and self.statements is not module.body:
            blocks.append((module.body, top))  # in a module-level loop, `if` or `try`
        for depth, (statements, index) in enumerate(blocks):
            outermost = depth == len(blocks) - 1
            for offset, statement in enumerate(statements[index + 1 :], start=index + 1):
                yield statement, (offset if module_level and outermost else top)

    def _top_index(self) -> int:
        module = self.chain[0]
        assert type(module) is cst.Module
        top = self.chain[1] if len(self.chain) > 1 else self.statements[self.index]
        return list(module.body).index(top)  # type: ignore[arg-type]


class RunNotContextManaged(Rule):
    """
    ## What it does
    Flags `mlflow.start_run()` (alone, or assigned to a name) whose run is not managed: not
    the expression of a `with` statement (directly, or through a variable entered with `with`
    later), and not ended in a `finally:` block or an exception handler. Two cases:

    - the same function (or script) ends the run later with `mlflow.end_run()`, but an
      exception raised in between skips it;
    - nothing in the module ends the run at all: a script, a function or a callback class
      that leaves it to MLflow's exit handler.

    A run is ended by `mlflow.end_run()`, `MlflowClient.set_terminated(...)`, a helper
    defined in the module whose body does either, or a helper (imported or local) whose name
    says so: a verb of ending with a word for the run (`end_mlflow_run`, `stop_tracking`,
    `mlflow_utils.stop_zenml_mlflow_runs`, `finishRun`).

    ## Why is this bad
    Measured on MLflow 3.17 (see the project's tests): when a script raises after a bare
    `mlflow.start_run()`, MLflow's exit handler ends the run as FINISHED, so a crashed job
    looks successful. The run stays RUNNING when the process is killed, or when it lives on
    after the exception (a server, a notebook, a test session), and the next `start_run()`
    there raises "Run ... is already active". `with mlflow.start_run():` ends the run as
    FAILED when an exception propagates, and FINISHED otherwise. Where the run must outlive the
    function, end it in the teardown hook, with `mlflow.end_run(status="FAILED")` on error.

    In a notebook, a cell that raises leaves the run active: later cells log into it, and it
    stays RUNNING until a cell ends it; restarting the kernel marks it FINISHED, and a killed
    kernel leaves it RUNNING. There the advice is a final cell that calls `mlflow.end_run()`.

    ## Not flagged
    Runs meant to outlive the function that starts them, whose end is someone else's job:

    - the run is ended elsewhere in the module: `start_run()` in one function and the end in
      another (framework callbacks written as functions, `on_train_begin`/`on_train_end`
      methods, pytest session hooks, `__enter__`/`__exit__`, start/stop wrappers), or a
      module that defines or calls a helper whose name says it ends the run;
    - the run (or anything read from it, such as its id) is returned or yielded to the
      caller, stored on an object (`self.run = run`, `runs.append(run)`) or in a global,
      or written to a file for another process (`f.write(run.info.run_id)`, `json.dump`:
      a pipeline step that starts the run its later steps resume);
    - `start_run(run_id=...)` that resumes an existing run (an id the function is handed,
      read from a config, a lookup or an attribute) in code that does not end it: a worker
      process, a command or a callback joining a run its owner created and ends. A `with`
      there would end the owner's run, or mark it FAILED for a crash of this code alone,
      and a script that exits leaves the resumed run FINISHED, as it found it. In a
      notebook, where the kernel keeps the run active and RUNNING, it is still reported;
    - a function defined next to the start that ends the run and is handed out: returned
      (`return log_step, finalize`, spaCy's logger protocol, whose trainer calls
      `finalize()` when training stops, also on error), registered
      (`atexit.register(close)`) or passed on. A definition alone ends nothing: one that is
      neither called nor handed out leaves the run open, and is reported;
    - the mlflow module stored on an object after the start (`self.mlflow = mlflow`): the
      object's users log into the run and end it through it, in other modules;
    - an MLflow logger or callback imported from another package than MLflow (a name with
      "mlflow" and "logger", "callback", "hook" or "tracker" in it) handed to a call after
      the start (`trainer.fit(..., callbacks=[MLFlowLogger(model)])`): the framework runs
      its end-of-training hook, whose code is elsewhere and may end the run. MLflow's own
      callbacks (`mlflow.keras.MlflowCallback`) end none, and a class defined in the module
      is read there;
    - `start_run(run_id=...)` under an `if mlflow.active_run() is None:` guard, which
      re-activates a run its caller owns, or with the id of the run that is active
      (`parent = mlflow.active_run()`, then `start_run(run_id=parent.info.run_id,
      nested=True)`): it pushes the caller's run again, and the caller ends it; or a plain
      `start_run()` under that guard in a function that does not end the run: MLflow's
      own auto-start copied (every fluent
      `log_*` and `set_tag` starts a run the same way and leaves it to the caller);
    - a module-level function that starts the run and returns at once (nothing after
      `start_run()` can fail): a start wrapper whose caller ends the run; so is one named
      for starting (`start_logging`, `init_tracking`, `setup_mlflow`) in a module of
      helpers that runs none of its code itself (no `if __name__ == "__main__":` block, no
      call of its functions outside a function): its callers, in other modules, own the
      run. Called by the module's own script code, it is reported;
    - a run left with `run.__exit__(None, None, None)` on what `start_run()` returned (the
      `with` protocol spelled out, in a context manager of the package's own): it ends the
      run as `with` does;
    - a pytest fixture that ends the run after its `yield` (pytest runs that teardown when
      the test fails);
    - `start_run()` followed by `end_run()` with nothing in between that can fail (no call,
      or only calls, with plain arguments, of functions of this module whose whole body is a
      `try` that swallows any error): creating a run and ending it at once; nor with
      nothing in between but logging to the run and messages about it (`start_run()`,
      `print(mlflow.active_run().info.run_id)`, a loop of `log_metric`, `end_run()`): only
      MLflow itself could fail there, a window a few requests wide (on real code,
      hand-judged, not worth a finding);
    - in a notebook, a run started in one cell and ended in a later one (a `with` block
      cannot span cells). A run ended in the same cell is reported like in a script.

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
        "`mlflow.start_run()` outside a `with` and not ended in `finally`: a crash leaves"
        " the run RUNNING, or marked FINISHED."
    )
    triggers = frozenset({api.START_RUN})
    fix_safety = Safety.SAFE

    def setup(self) -> None:
        # decided in finish(): the code that ends a run may come later in the file
        self._starts: list[_Start] = []
        # fluent end_run() / MlflowClient.set_terminated() calls: the ids of the functions
        # around each, and of the innermost (0 at module level)
        self._endings: list[tuple[frozenset[int], int]] = []
        self._text_counts: dict[int, int] = {}
        # ids of the functions that store the mlflow module on an object (`self.mlflow = mlflow`)
        self._module_holders: set[int] = set()

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._scan(node, node.body, fixes.indent_unit(self.ctx.module, node))

    def leave_Module(self, node: cst.Module) -> None:
        self._scan(node, node.body, fixes.indent_unit(node, None))

    def visit_Call(self, node: cst.Call) -> None:
        if is_fluent(self.ctx, node, api.END_RUN) or is_client_call(
            self.ctx, node, "set_terminated"
        ):
            functions = [id(a) for a in self.ctx.ancestors if isinstance(a, _FUNCTIONS)]
            self._endings.append((frozenset(functions), functions[-1] if functions else 0))

    def visit_Assign(self, node: cst.Assign) -> None:
        if any(
            isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in node.targets
        ) and api.is_fluent_module(self.ctx.resolver.resolve(node.value)):
            function = self.ctx.enclosing(*_FUNCTIONS)
            self._module_holders.add(id(function))

    def _scan(self, block: Block, statements: Sequence[cst.BaseStatement], unit: str) -> None:
        chain: Optional[tuple[cst.CSTNode, ...]] = None
        for index, statement in enumerate(statements):
            start = self._start_statement(statement)
            if start is not None:
                if chain is None:
                    chain = (*self.ctx.ancestors, block)
                self._starts.append(_Start(statements, index, start[0], start[1], unit, chain))

    def finish(self) -> None:
        for start in self._starts:
            self._decide(start)

    def _decide(self, start: _Start) -> None:
        if self._protected(start) or self._outlives(start):
            return
        ending = self._first_ending(start)
        if ending is not None:
            statement, top = ending
            if self._spans_cells(start, top) or self._nothing_fails_before(start, statement):
                return
            self.report(
                start.call,
                "`mlflow.start_run()` outside a `with` block: an exception skips its `end_run()`",
                fix=self._with_fix(start),
                help=_CORE_HELP,
            )
            return
        if self._ended_elsewhere(start):
            return
        scope = start.scope
        if type(scope) is cst.Module and self.ctx.path.endswith(".ipynb"):
            message, advice = (
                "nothing in this notebook ends the run `start_run()` starts",
                (_NOTEBOOK_HELP),
            )
        elif self._method_of(start) is not None:
            message, advice = (
                "nothing in this class ends the run `start_run()` starts",
                (_METHOD_HELP),
            )
        else:
            message, advice = (
                "nothing here ends the run `mlflow.start_run()` starts",
                (_FUNCTION_HELP),
            )
        self.report(start.call, message, help=advice)

    # --- what ends a run ------------------------------------------------------------------
    def _ends_run(self, call: cst.Call) -> bool:
        """`mlflow.end_run()`, `MlflowClient.set_terminated()`, `run.__exit__(...)` on what a
        `start_run()` returned (the `with` protocol spelled out), a helper of this module
        that calls one of them (and starts no run of its own), or a helper whose name says
        so."""
        if is_fluent(self.ctx, call, api.END_RUN) or is_client_call(
            self.ctx, call, "set_terminated"
        ):
            return True
        func = call.func
        if (
            type(func) is cst.Attribute
            and func.attr.value == "__exit__"
            and type(func.value) is cst.Name
            and any(s.name == func.value.value for s in self._starts)
        ):
            return True
        name = callee_name(call)
        if name is not None and says_end(name):
            return True
        # a helper that starts a run of its own (without `with`) ends that one, not ours
        return (
            self.ctx.helper_call(call, _ending, own_runs=True) is not None
            and self.ctx.helper_call(call, _starting) is None
        )

    def _ends_in(self, node: cst.CSTNode) -> bool:
        return any(self._ends_run(call) for call in calls_in(node))

    def _first_ending(self, start: _Start) -> Optional[tuple[cst.BaseStatement, int]]:
        """The first statement after the start, in its own scope, that ends the run; in a loop,
        the loop's own body counts too (the next iteration runs it)."""
        for statement, top in start.following():
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                continue  # a definition runs none of its code (see _hands_out_ending)
            if self._ends_in(statement):
                return statement, top
        for node in start.scope_chain():
            if isinstance(node, (cst.For, cst.While)) and self._ends_in(node.body):
                return start.statements[start.index], -1
        return None

    def _ended_elsewhere(self, start: _Start) -> bool:
        """Something outside the start's scope ends a run: a call of `end_run()` or
        `set_terminated()` (not in a function that starts a run of its own: that one ends its
        own), or a helper whose name says it ends the run, defined or used."""
        scope = start.scope
        own = {id(s.scope): s.scope for s in self._starts if type(s.scope) is not cst.Module}
        starters = set(own)
        for functions, innermost in self._endings:
            if innermost in starters:
                continue
            if type(scope) is cst.Module and functions:
                return True
            if type(scope) is not cst.Module and id(scope) not in functions:
                return True
        if type(scope) is cst.Module:
            inside = sum(
                self._count_end_names(s)
                for s in scope.body
                if not isinstance(s, (cst.FunctionDef, cst.ClassDef))
            )
        else:
            inside = self._count_end_names(scope)
        # names in the functions that start a run end that run (never left out of the walk)
        inside += sum(self._count_end_names(f) for key, f in own.items() if key != id(scope))
        return self._count_end_names(None) > inside

    def _count_end_names(self, node: Optional[cst.CSTNode]) -> int:
        """Identifiers that say they end the run, in the code (not comments or strings) of
        `node`, or of the whole file. Read from the text, so that definitions the engine left
        out of the walk (elision.py) count the same."""
        key = id(node)
        if key not in self._text_counts:
            text = self.ctx.text if node is None else self.ctx.code(node)
            self._text_counts[key] = sum(
                1 for word in _IDENTIFIER.findall(code_text(text)) if says_end(word)
            )
        return self._text_counts[key]

    # --- runs that are managed ------------------------------------------------------------
    def _protected(self, start: _Start) -> bool:
        """A `try` around the start, or one after it, ends the run in `finally:` or in an
        exception handler; or the run is entered with `with` later."""
        chain = start.scope_chain()
        for position, node in enumerate(chain):
            if isinstance(node, (cst.Try, cst.TryStar)):
                child = chain[position + 1] if position + 1 < len(chain) else None
                if self._try_ends(node, handlers=child is node.body):
                    return True
        for statement, _ in start.following():
            if isinstance(statement, (cst.Try, cst.TryStar)) and self._try_ends(
                statement, handlers=True
            ):
                return True
            if (
                start.name is not None
                and type(statement) is cst.With
                and any(
                    type(i.item) is cst.Name and i.item.value == start.name for i in statement.items
                )
            ):
                return True
        return False

    def _try_ends(self, node: Union[cst.Try, cst.TryStar], handlers: bool) -> bool:
        if node.finalbody is not None and self._ends_in(node.finalbody):
            return True
        return handlers and any(self._ends_in(handler) for handler in node.handlers)

    def _outlives(self, start: _Start) -> bool:
        """The run is meant to outlive the function that starts it."""
        if self._resumes(start):
            return True
        scope = start.scope
        if self._drives_mlflow_callback(scope):
            return True
        if type(scope) is cst.Module:
            return False
        if start.name is not None and self._handed_on(scope, start.name):
            return True
        if self._hands_out_ending(scope):
            return True
        if id(scope) in self._module_holders:
            return True  # whoever holds the module logs into the run and ends it
        if self._reactivates(start):
            return True
        if _is_fixture(scope) and self._first_ending(start) is not None:
            return True
        return self._start_wrapper(start)

    def _drives_mlflow_callback(self, scope: cst.CSTNode) -> bool:
        """An MLflow logger or callback of another package's (imported, not MLflow's own:
        `MLFlowLogger(model)`) is handed to a call (`trainer.fit(..., callbacks=[cb])`): the
        framework calls its hooks, and its end-of-training hook may end the run; its code is
        not in this file."""
        made: set[str] = set()  # names bound to such an object or a list holding one
        for node in _walk(scope):
            if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
                if self._holds_mlflow_callback(node.value, made):
                    made.update(t.value for t in _targets(node) if type(t) is cst.Name)
            elif (
                type(node) is cst.Call
                and type(node.func) is cst.Attribute
                and node.func.attr.value in ("append", "extend")
                and type(node.func.value) is cst.Name
                and any(self._holds_mlflow_callback(arg.value, made) for arg in node.args)
            ):
                made.add(node.func.value.value)  # `callbacks.append(MLFlowLogger(model))`
        return any(
            type(node) is cst.Call
            and not (
                type(node.func) is cst.Attribute and node.func.attr.value in ("append", "extend")
            )
            and any(self._holds_mlflow_callback(arg.value, made) for arg in node.args)
            for node in _walk(scope)
        )

    def _holds_mlflow_callback(self, value: cst.BaseExpression, made: set[str]) -> bool:
        if type(value) is cst.Name:
            return value.value in made
        if isinstance(value, (cst.List, cst.Tuple)):
            return any(self._holds_mlflow_callback(e.value, made) for e in value.elements)
        if type(value) is not cst.Call:
            return False
        func = value.func
        if type(func) is cst.Name:  # `from pkg.callbacks import MLFlowLogger`
            imported = self._foreign_names().get(func.value)
            if imported is None:
                return False
            name = imported
        elif type(func) is cst.Attribute:  # `callbacks.MLFlowLogger(...)`
            root = func.value
            while type(root) is cst.Attribute:
                root = root.value
            if type(root) is not cst.Name or root.value in ("mlflow", "self", "cls"):
                return False  # MLflow's own callbacks end no run; a method is no class
            name = func.attr.value
        else:
            return False
        lowered = name.lower()
        return "mlflow" in lowered and any(w in lowered for w in _CALLBACK_WORDS)

    def _foreign_names(self) -> dict[str, str]:
        """Names the module imports from another package than MLflow (`from x import A as
        B`: B -> A): their code is not in this file (a class defined here is read here)."""
        found: Optional[dict[str, str]] = self.__dict__.get("_foreign")
        if found is None:
            found = {}
            for node in _walk(self.ctx.module):
                if type(node) is cst.ImportFrom and not isinstance(node.names, cst.ImportStar):
                    module = dotted_name(node.module) if node.module is not None else ""
                    if (module or "").split(".")[0] == "mlflow":
                        continue
                    for alias in node.names:
                        imported = dotted_name(alias.name) or ""
                        bound = alias.asname.name if alias.asname is not None else None
                        key = bound.value if type(bound) is cst.Name else imported
                        found[key] = imported
            self._foreign = found
        return found

    def _hands_out_ending(self, scope: cst.CSTNode) -> bool:
        """A function defined in `scope` ends the run and is handed to the caller (returned,
        stored, registered: `return log_step, finalize`, `atexit.register(close)`): a
        framework's setup callback whose teardown callback ends the run (spaCy's loggers)."""
        for node in _nested_functions(scope):
            if self._ends_in(node.body) and (
                self._handed_on(scope, node.name.value) or _passed_in_call(scope, node.name.value)
            ):
                return True
        return False

    def _handed_on(self, scope: cst.CSTNode, name: str) -> bool:
        """`name` (or anything read from it) is returned, yielded, stored on an object or in a
        container, written to a file (`f.write(run.info.run_id)`, `json.dump(...)`), or is a
        global."""
        todo: list[cst.CSTNode] = [scope]
        while todo:
            node = todo.pop()
            if node is not scope and isinstance(node, SCOPES):
                continue
            if isinstance(node, (cst.Global, cst.Nonlocal)) and any(
                item.name.value == name for item in node.names
            ):
                return True
            if (
                isinstance(node, (cst.Return, cst.Yield))
                and node.value is not None
                and _mentions(node.value, name)
            ):
                return True
            if (
                isinstance(node, (cst.Assign, cst.AnnAssign))
                and node.value is not None
                and _mentions(node.value, name)
                and any(isinstance(t, (cst.Attribute, cst.Subscript)) for t in _targets(node))
            ):
                return True
            if (
                type(node) is cst.Call
                and type(node.func) is cst.Attribute
                and node.func.attr.value in _STORING_METHODS
                and any(_mentions(arg.value, name) for arg in node.args)
            ):
                return True
            todo.extend(iter_children(node))
        return False

    @staticmethod
    def _run_id(start: _Start) -> Optional[cst.Arg]:
        """The `run_id` argument of the start, unless it is None: a run to resume."""
        call = start.call
        run_id = next(
            (a for a in call.args if a.keyword is not None and a.keyword.value == "run_id"),
            call.args[0] if call.args and call.args[0].keyword is None else None,
        )
        if run_id is None or (type(run_id.value) is cst.Name and run_id.value.value == "None"):
            return None
        return run_id

    def _resumes(self, start: _Start) -> bool:
        """`start_run(run_id=...)` that nothing here ends, outside a notebook: it resumes a
        run (handed in, looked up, configured) for a worker process, a command or a callback
        joining a run its owner created and ends; a script that exits leaves it FINISHED, as
        it found it. A notebook's kernel would keep it RUNNING."""
        return (
            self._run_id(start) is not None
            and not self.ctx.path.endswith(".ipynb")
            and self._first_ending(start) is None
        )

    def _reactivates(self, start: _Start) -> bool:
        """`start_run(run_id=...)` with the id of the active run, or under `if
        mlflow.active_run() is None:`, makes the caller's run active again, not a new one; a
        plain `start_run()` the function does not end is MLflow's own auto-start copied (as
        `log_metric` does it): the run is the caller's."""
        run_id = self._run_id(start)
        if run_id is None and self._first_ending(start) is not None:
            return False  # started and ended here: this function's own run
        active_names = active_run_names(self.ctx, start.scope)
        if run_id is not None and self._of_active_run(run_id.value, active_names):
            # `start_run(run_id=parent.info.run_id, nested=True)` with `parent =
            # mlflow.active_run()`: pushes the run that is already active, the caller's, who
            # ends it (an `end_run()` here pops it again; an exception leaves that to them)
            return True
        return any(
            type(node) is cst.If and tests_active_run(self.ctx, node.test, active_names)
            for node in start.scope_chain()
        )

    def _of_active_run(self, value: cst.BaseExpression, names: set[str]) -> bool:
        """Whether `value` is read from the active run: `mlflow.active_run().info.run_id`, or
        `run.info.run_id` with `run` one of `names` (assigned `mlflow.active_run()`)."""
        while type(value) is cst.Attribute:
            value = value.value
        if type(value) is cst.Name:
            return value.value in names
        return type(value) is cst.Call and is_fluent(self.ctx, value, "active_run")

    def _start_wrapper(self, start: _Start) -> bool:
        """A module-level function that starts the run and returns: nothing after the start
        can fail, so the run is its caller's (a `with` here would end it on return). Or one
        named for starting (`start_logging`, `init_tracking`, `setup_mlflow`) in a module
        of helpers that runs none of its own code: it starts the run for its callers, in
        other modules, which end it."""
        scope = start.scope
        if type(scope) is not cst.FunctionDef or start.chain.index(scope) != 1:
            return False
        if not _STARTING.isdisjoint(words(scope.name.value)) and not self._runs_itself():
            return True
        return not any(self._may_fail(statement) for statement, _ in start.following())

    def _runs_itself(self) -> bool:
        """The module runs code of its own: an `if __name__ == "__main__":` block, or a call
        of one of its functions outside any function (a script, a notebook's cells)."""
        module = self.ctx.module
        defined = {s.name.value for s in module.body if type(s) is cst.FunctionDef}
        for statement in module.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                continue
            if type(statement) is cst.If and is_main_guard(statement.test):
                return True
            if any(
                type(node) is cst.Call
                and type(node.func) is cst.Name
                and node.func.value in defined
                for node in _walk(statement)
            ):
                return True
        return False

    def _may_fail(self, node: cst.CSTNode) -> bool:
        for current in _walk(node):
            if type(current) is cst.Call:
                receiver = current.func
                if type(receiver) is cst.Attribute:
                    receiver = receiver.value
                if type(receiver) is cst.Name and (
                    receiver.value in _LOGGERS or receiver.value == "print"
                ):
                    continue
                return True
            if isinstance(current, _MAY_FAIL):
                return True
        return False

    def _nothing_fails_before(self, start: _Start, ending: cst.BaseStatement) -> bool:
        """The run is ended in the same block with nothing between that can fail."""
        statements = list(start.statements)
        if ending not in statements[start.index + 1 :]:
            return False
        between = statements[start.index + 1 : statements.index(ending)]
        return not any(
            isinstance(node, _MAY_FAIL) and not self._only_logs(node) and not self._guarded(node)
            for statement in between
            for node in _walk(statement)
        )

    def _guarded(self, node: cst.CSTNode) -> bool:
        """A call of a function of this file whose whole body is a `try` that swallows any
        error (`except:` or `except Exception:` that does not raise), with plain arguments:
        the call cannot fail (`self.sync(...)` before `end_run()` in a stop command)."""
        if type(node) is not cst.Call or not all(_plain(arg.value) for arg in node.args):
            return False
        summary = self.ctx.local_function(node)
        if summary is None:
            return False
        body = [s for s in summary.node.body.body if not _is_docstring(s)]
        if len(body) != 1 or not isinstance(body[0], cst.Try):
            return False
        attempt = body[0]
        if attempt.orelse is not None or attempt.finalbody is not None:
            return False
        return any(
            (handler.type is None or _catches_all(handler.type)) and not _raises(handler.body)
            for handler in attempt.handlers
        )

    def _only_logs(self, node: cst.CSTNode) -> bool:
        """A call that logs to the run (`mlflow.log_metric(...)`, `client.log_batch(...)`),
        reads a value for it (`str(x)`, `results.items()`, `mlflow.active_run()`) or prints a
        message about it (`print(...)`, `logger.info(...)`, `"run {}".format(run_id)`):
        between a start and its end, only MLflow itself could fail, and the window is a few
        requests wide (judged not worth a finding on real code)."""
        if type(node) is not cst.Call:
            return False
        found = self.ctx.api_call(node)
        if found is not None:
            return (
                found.name in api.FLUENT_LOGGING
                or found.name in api.RUN_WRITES
                or found.name == "active_run"  # the run just started: `run.info.run_id`
            )
        func = node.func
        if type(func) is cst.Name:
            return func.value in _CONVERSIONS or func.value == "print"
        if type(func) is not cst.Attribute:
            return False
        receiver = func.value
        if type(receiver) is cst.Name and receiver.value in _LOGGERS:
            return True  # `logger.info(...)`: a message about the run
        if isinstance(receiver, (cst.SimpleString, cst.ConcatenatedString)):
            return func.attr.value == "format"  # `"run {}".format(run_id)`
        return func.attr.value in _MAPPING_VIEWS

    def _spans_cells(self, start: _Start, top: int) -> bool:
        """In a notebook: the run is ended in a later cell than the one that starts it."""
        scope = start.scope
        if top < 0 or type(scope) is not cst.Module or not self.ctx.path.endswith(".ipynb"):
            return False
        first = start._top_index()
        return any(_is_cell_boundary(s) for s in scope.body[first + 1 : top + 1])

    def _method_of(self, start: _Start) -> Optional[cst.ClassDef]:
        scope = start.scope
        if type(scope) is not cst.FunctionDef:
            return None
        position = start.chain.index(scope)
        owner = start.chain[position - 2] if position >= 2 else None
        return owner if type(owner) is cst.ClassDef else None

    # --- the start statement and its fix --------------------------------------------------
    def _start_statement(
        self, statement: cst.BaseStatement
    ) -> Optional[tuple[cst.Call, Optional[str]]]:
        """`mlflow.start_run(...)` or `run = mlflow.start_run(...)` as a statement."""
        if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if type(small) is cst.Expr and is_fluent(self.ctx, small.value, api.START_RUN):
            assert type(small.value) is cst.Call
            return small.value, None
        if (
            type(small) is cst.Assign
            and len(small.targets) == 1
            and type(small.targets[0].target) is cst.Name
            and is_fluent(self.ctx, small.value, api.START_RUN)
        ):
            assert type(small.value) is cst.Call
            return small.value, small.targets[0].target.value
        return None

    def _with_fix(self, start: _Start) -> Optional[PendingFix]:
        statements, index, call, name = start.statements, start.index, start.call, start.name
        for end in range(index + 1, len(statements)):
            statement = statements[end]
            if _is_plain_end_run(self, statement):
                body = list(statements[index + 1 : end])
                if not body or any(_jumps(s) for s in body):
                    return None
                if _comment_would_move(statements[index], statement):
                    return None
                header = f"with {self.ctx.code(call)}{f' as {name}' if name else ''}:"
                block = cst.IndentedBlock(body=body, indent=start.unit)
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


def _ending(found: ApiCall, call: cst.Call) -> bool:
    return found.name == "set_terminated" if found.is_client else found.name == api.END_RUN


def _starting(found: ApiCall, call: cst.Call) -> bool:
    return not found.is_client and found.name == api.START_RUN


def _is_fixture(scope: cst.CSTNode) -> bool:
    """A pytest fixture: code after its `yield` runs as teardown, even when the test fails."""
    if type(scope) is not cst.FunctionDef:
        return False
    for decorator in scope.decorators:
        target = decorator.decorator
        if type(target) is cst.Call:
            target = target.func
        if (dotted_name(target) or "").rsplit(".", 1)[-1] == "fixture":
            return True
    return False


def _is_cell_boundary(statement: cst.BaseStatement) -> bool:
    return (
        type(statement) is cst.SimpleStatementLine
        and len(statement.body) == 1
        and type(statement.body[0]) is cst.Pass
        and statement.trailing_whitespace.comment is not None
        and _CELL_BOUNDARY.search(statement.trailing_whitespace.comment.value) is not None
    )


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and everything under it, nested definitions left out."""
    todo: list[cst.CSTNode] = [node]
    while todo:
        current = todo.pop()
        if current is not node and isinstance(current, SCOPES):
            continue
        yield current
        todo.extend(iter_children(current))


def _nested_functions(scope: cst.CSTNode) -> Iterator[cst.FunctionDef]:
    """The functions defined in `scope`'s own code (not in those functions)."""
    todo: list[cst.CSTNode] = list(iter_children(scope))
    while todo:
        current = todo.pop()
        if type(current) is cst.FunctionDef:
            yield current
        elif not isinstance(current, SCOPES):
            todo.extend(iter_children(current))


_CALLBACK_WORDS = ("logger", "callback", "hook", "tracker")


def _passed_in_call(scope: cst.CSTNode, name: str) -> bool:
    """`name` itself is an argument of a call in `scope` (`atexit.register(finalize)`)."""
    return any(
        type(node) is cst.Call
        and any(type(arg.value) is cst.Name and arg.value.value == name for arg in node.args)
        for node in _walk(scope)
    )


def _plain(value: cst.BaseExpression) -> bool:
    """A name, an attribute chain or a literal: evaluating it cannot fail."""
    while type(value) is cst.Attribute:
        value = value.value
    return isinstance(value, (cst.Name, cst.SimpleString, cst.Integer, cst.Float))


def _is_docstring(statement: Union[cst.BaseStatement, cst.BaseSmallStatement]) -> bool:
    return (
        type(statement) is cst.SimpleStatementLine
        and len(statement.body) == 1
        and type(statement.body[0]) is cst.Expr
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _catches_all(kind: cst.BaseExpression) -> bool:
    return type(kind) is cst.Name and kind.value in ("Exception", "BaseException")


def _raises(body: cst.BaseSuite) -> bool:
    return any(type(node) is cst.Raise for node in _walk(body))


def _mentions(node: cst.CSTNode, name: str) -> bool:
    return any(type(n) is cst.Name and n.value == name for n in _walk(node))


def _targets(node: Union[cst.Assign, cst.AnnAssign]) -> list[cst.BaseExpression]:
    if isinstance(node, cst.AnnAssign):
        return [node.target]
    return [t.target for t in node.targets]


def _is_plain_end_run(rule: Rule, statement: cst.BaseStatement) -> bool:
    return (
        type(statement) is cst.SimpleStatementLine
        and len(statement.body) == 1
        and type(statement.body[0]) is cst.Expr
        and is_fluent(rule.ctx, statement.body[0].value, api.END_RUN)
        and not statement.body[0].value.args  # type: ignore[attr-defined]
    )


def _comment_would_move(start: cst.BaseStatement, end: cst.BaseStatement) -> bool:
    """A comment on the start_run line or above/on the end_run line has no good new home."""
    assert type(start) is cst.SimpleStatementLine and type(end) is cst.SimpleStatementLine
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
    if type(statement) is cst.SimpleStatementLine:
        return statement.body[0]
    return statement
