"""The one tree walk that serves every rule, and the facts rules ask of it.

libcst's own `visit` rebuilds every node it passes (that is why a plain visitor pass costs more
than the parse); this walker only reads the fields that can hold code, iteratively, so deep trees
never hit Python's recursion limit. While walking it keeps the ancestors stack and the resolver's
scopes current, resolves every call once, and summarises each function's MLflow calls so loop
rules can see logging done through helpers defined in the same module.
"""

from __future__ import annotations

import builtins
import dataclasses
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Optional, Union

import libcst as cst

from mlflow_lint import mlflow_api as api
from mlflow_lint.names import LOCAL_PREFIX, Resolver, Scope, is_property, words

# Fields that hold only whitespace, punctuation or comments: never walked.
_SKIPPED_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "semicolon",
        "trailing_whitespace",
        "equal",
        "colon",
        "dot",
        "newline",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "operator",
        "asynchronous",
        "star",
        "walrus",
        "first_colon",
        "second_colon",
        "relative",
    }
)
_child_fields: dict[type, tuple[str, ...]] = {}

LOOP_TYPES = (cst.For, cst.While)
COMPREHENSION_TYPES = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
# Bindings made under these may not happen: they do not erase an MLflow meaning of the name
# (`try: import mlflow / except ImportError: mlflow = None`).
_CONDITIONAL_TYPES = (cst.If, cst.Else, cst.Try, cst.TryStar, cst.Match, cst.ExceptHandler)
_SCOPE_BOUNDARIES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_TERMINATORS = (cst.Return, cst.Raise)
_EXITS = (cst.Return, cst.Raise, cst.Continue, cst.Break)
# Rounds of the class prescan: a property may return what another method assigns.
_CLASS_PRESCAN_ROUNDS = 3

Visitor = Callable[[Any], None]


def child_fields(node_type: type) -> tuple[str, ...]:
    fields = _child_fields.get(node_type)
    if fields is None:
        fields = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
        _child_fields[node_type] = fields
    return fields


def _node_types() -> frozenset[type]:
    """Every node class libcst has: `type(x) in NODE_TYPES` is a set lookup, where
    `isinstance(x, cst.CSTNode)` goes through ABCMeta.__instancecheck__ (a fifth of the walk)."""
    found: set[type] = set()
    todo: list[type] = [cst.CSTNode]
    while todo:
        kind = todo.pop()
        if kind not in found:
            found.add(kind)
            todo.extend(kind.__subclasses__())
    return frozenset(found)


NODE_TYPES = _node_types()


def node_kinds(*classes: type) -> frozenset[type]:
    """The node classes that are `classes` or derive from them: `type(x) in node_kinds(...)`
    answers `isinstance(x, classes)` for a libcst node (or any value) without ABCMeta's
    per-call cost, where the walk asks it hundreds of thousands of times on dense code. (The
    classes' own MRO answers too: libcst registers no virtual subclasses, and ABCMeta's
    subclass check would cost the start-up of every run a hundredth of a second.)"""
    return frozenset(kind for kind in NODE_TYPES if not set(classes).isdisjoint(kind.__mro__))


_SCOPE_BOUNDARY_KINDS = node_kinds(*_SCOPE_BOUNDARIES)
_BLOCK_KINDS = node_kinds(cst.BaseSuite, cst.Module, cst.SimpleStatementLine)
_REPEATING_KINDS = node_kinds(*LOOP_TYPES, *COMPREHENSION_TYPES)
_TERMINATOR_KINDS = node_kinds(*_TERMINATORS)
_EXIT_KINDS = node_kinds(*_EXITS)
_HANDLER_KINDS = node_kinds(cst.ExceptHandler, cst.ExceptStarHandler)


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    node_types = NODE_TYPES
    for name in _child_fields.get(type(node)) or child_fields(type(node)):
        value = getattr(node, name)
        if type(value) in node_types:
            yield value
        elif type(value) is tuple or type(value) is list:
            for item in value:
                if type(item) in node_types:
                    yield item


# Builtins that take any object: given a client, they do not track through it.
_BUILTINS = frozenset(dir(builtins))


@dataclass
class FunctionSummary:
    """What one function defined in this file does with MLflow (its own body, not nested defs)."""

    node: cst.FunctionDef
    api_calls: list[tuple[api.ApiCall, cst.Call]] = field(default_factory=list)
    helper_calls: list[tuple[str, cst.Call]] = field(default_factory=list)  # local function keys
    # ids of the calls above made inside a run this function opens itself (`with
    # mlflow.start_run():`): per run, not per call of the function
    in_own_run: set[int] = field(default_factory=set)
    # `run = client.create_run(...)` (or a `start_run()` outside `with`) seen: the calls the
    # body makes after it log to that new run, once per call of the function
    opened_run: bool = False
    # MLflow's heavy work that is no tracking call (`mlflow.pyfunc.load_model`): api.HEAVY_WORK
    heavy_calls: list[cst.Call] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.name.value


_SCOPE_KINDS = frozenset({cst.FunctionDef, cst.Lambda, cst.ClassDef})


def _reraises(body: cst.BaseSuite) -> bool:
    statements: Sequence[cst.CSTNode] = getattr(body, "body", ())
    last = statements[-1] if statements else None
    if type(last) is cst.SimpleStatementLine:
        return type(last.body[-1]) is cst.Raise
    return False


# A loop over a written-out iterable this short costs a fixed handful of requests, not a
# number that grows with the data: the rules about request counts leave it alone.
MAX_FIXED_ITERATIONS = 3
# Names of cross-validation folds and splitters (see FileContext.per_fold).
_FOLD = re.compile("fold", re.IGNORECASE)
_SPLITTERS = frozenset({"kf", "skf", "gkf", "sgkf", "rkf", "cv", "kfold", "splitter"})
_PASS_THROUGH = frozenset({"enumerate", "tqdm", "list", "sorted", "zip"})


@dataclass(frozen=True)
class LoopFrame:
    """A loop that executes the node being visited on each of its iterations."""

    loop: cst.CSTNode  # For, While, or a comprehension
    at_most_once: bool  # an unconditional break/return/raise follows: the body runs once
    throttled: bool  # guarded by `if step % N == 0`: runs every N iterations, not each one
    # guarded by `if score > best_score:`: runs when the loop's result improves, a running
    # best's few updates (see is_improvement)
    improving: bool = False

    @property
    def is_async(self) -> bool:
        return type(self.loop) is cst.For and self.loop.asynchronous is not None


class FileContext:
    """Per-file state shared by all rules during the single walk."""

    def __init__(
        self,
        module: cst.Module,
        path: str,
        text: str = "",
        elided_names: AbstractSet[str] = frozenset(),
        boundary: Optional[str] = None,
    ) -> None:
        self.module = module  # definitions that cannot matter may be stubs (elision.py)
        self._render = (
            module if module.default_newline == "\n" else module.with_changes(default_newline="\n")
        )
        self.path = path
        self.text = text  # the whole source, for rules that need to check what names it uses
        self.elided_names = elided_names  # names used in the definitions replaced by stubs
        # The comment (`# nbcell:cell`) of the statements that separate parts run one by one
        # (a notebook's cells): a fix's new import goes into the part it changes.
        self.boundary = boundary
        self.enabled: frozenset[str] = frozenset()  # the codes of the rules in this walk
        # ids of calls a batching finding (MLF102-MLF105) covers: one problem, one finding
        self.covered: set[int] = set()
        self.resolver = Resolver()
        self.ancestors: list[cst.CSTNode] = []
        self.functions: dict[str, FunctionSummary] = {}  # keyed by resolver value "local:N"
        self._function_stack: list[FunctionSummary] = []
        self._calls: dict[int, Optional[api.ApiCall]] = {}
        self._callees: dict[int, Optional[str]] = {}
        # ids of calls (not of builtins) given the mlflow module or an MlflowClient
        self.hands_mlflow: set[int] = set()
        # ids of the `with` blocks in which the walk has met a fluent `end_run()` so far:
        # after it, the block's run is no longer the active one
        self.ended_in: set[int] = set()
        # ids of the MLflow calls made in a block of their own scope that lets the program go
        # on after they fail (in_catching_try): each such call stands alone, and a merge or a
        # batch that moves it out of that block changes what an error leaves stored
        self.caught_calls: set[int] = set()
        self._memo: dict[str, Any] = {}
        self._loops: dict[tuple[int, int, int, bool], list[LoopFrame]] = {}  # see loops()
        self._block_exits: dict[int, _BlockExits] = {}  # by block: see _exits_of()
        # the attributes of each module-level class (the class scope's attrs), for subclasses
        self._class_attrs: dict[str, dict[str, Optional[str]]] = {}

    # --- the walk -----------------------------------------------------------------------------
    def walk(self, visits: dict[type, list[Visitor]], leaves: dict[type, list[Visitor]]) -> None:
        """Walk the module once, calling the rules' visit_/leave_ methods by node type."""
        self._prescan_module_bindings()
        stack: list[tuple[cst.CSTNode, bool]] = [(self.module, False)]
        ancestors = self.ancestors
        enter_hooks, leave_hooks = _ENTER_HOOKS, _LEAVE_HOOKS
        # leaves nothing looks at (names, strings, numbers: half of a dense file's nodes) are
        # never pushed: a node type counts only when it may call something or has children
        node_types = NODE_TYPES - _inert_types(frozenset(visits), frozenset(leaves))
        while stack:
            node, leaving = stack.pop()
            node_type = type(node)
            if leaving:
                ancestors.pop()
                for method in leaves.get(node_type, ()):
                    method(node)
                if node_type in leave_hooks:
                    hook = leave_hooks[node_type]
                else:
                    hook = _hook_for(node_type, leaving=True)
                if hook is not None:
                    hook(self, node)
                continue
            if node_type in enter_hooks:
                hook = enter_hooks[node_type]
            else:
                hook = _hook_for(node_type, leaving=False)
            if hook is not None:
                hook(self, node)
            for method in visits.get(node_type, ()):
                method(node)
            ancestors.append(node)
            stack.append((node, True))
            fields = _child_fields.get(node_type) or child_fields(node_type)
            for name in reversed(fields):
                value = getattr(node, name)
                if type(value) in node_types:
                    stack.append((value, False))
                elif type(value) is tuple or type(value) is list:
                    stack.extend(
                        (item, False) for item in reversed(value) if type(item) in node_types
                    )

    # Enter/leave hooks keep the resolver's scopes current; chosen once per node type.
    def _enter_import(self, node: cst.Import | cst.ImportFrom) -> None:
        self.resolver.bind_import(node)

    def _enter_lambda(self, node: cst.Lambda) -> None:
        self.resolver.push(Scope("lambda"))
        for param in _all_params(node.params):
            self.resolver.bind(param.name.value, None)

    def _enter_comprehension(
        self, node: cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp
    ) -> None:
        self.resolver.push(Scope("comprehension"))
        comp: Optional[cst.CompFor] = node.for_in
        while comp is not None:
            self.resolver.bind_target(comp.target, None)
            comp = comp.inner_for_in

    def _enter_conditional(self, node: cst.CSTNode) -> None:
        if type(node) is cst.ExceptHandler and node.name is not None:
            self.resolver.bind_target(node.name.name, None)
        self.resolver.conditional[-1] += 1

    def _leave_conditional(self, node: cst.CSTNode) -> None:
        self.resolver.conditional[-1] -= 1

    def _enter_suite(self, suite: cst.BaseSuite) -> None:
        if not self.ancestors:
            return
        parent = self.ancestors[-1]
        resolver = self.resolver
        if type(parent) is cst.FunctionDef and suite is parent.body:
            owner = resolver.current if resolver.current.kind == "class" else None
            params = _all_params(parent.params)
            scope = Scope("function", owner=owner)
            if owner is not None and params and not _is_staticmethod(parent):
                scope.self_name = params[0].name.value
            resolver.push(scope)
            for param in params:
                annotated = (
                    resolver.resolve_annotation(param.annotation.annotation)
                    if param.annotation is not None
                    else None
                )
                resolver.bind(param.name.value, annotated)
            summary = FunctionSummary(parent)
            self.functions[self._function_key(parent)] = summary
            self._function_stack.append(summary)
        elif type(parent) is cst.ClassDef and suite is parent.body:
            scope = Scope("class")
            resolver.push(scope)
            self._prescan_class(parent, scope)
        elif type(parent) is cst.For and suite is parent.body:
            resolver.bind_target(parent.target, None)
        elif type(parent) is cst.With and suite is parent.body:
            for item in parent.items:
                if item.asname is not None:
                    resolver.bind_target(item.asname.name, resolver.resolve(item.item))

    def _leave_suite(self, node: cst.BaseSuite) -> None:
        parent = self.ancestors[-1] if self.ancestors else None
        if type(parent) is cst.FunctionDef and node is parent.body:
            self.resolver.pop()
            self._function_stack.pop()
        elif type(parent) is cst.ClassDef and node is parent.body:
            self.resolver.pop()

    def _leave_function(self, node: cst.FunctionDef) -> None:
        key = self._function_key(node)
        self.resolver.bind(node.name.value, key)
        if self.resolver.current.kind == "class" and not _is_accessor(node):
            attrs = self.resolver.current.attrs
            # a property reads as what it returns: `self.client`
            attrs[node.name.value] = self.resolver.returns.get(key) if is_property(node) else key

    def _leave_class(self, node: cst.ClassDef) -> None:
        self.resolver.bind(node.name.value, None)

    def _leave_scope(self, node: cst.CSTNode) -> None:
        self.resolver.pop()

    def _leave_assign(self, node: cst.Assign) -> None:
        value = self.resolver.resolve(node.value)
        for target in node.targets:
            self.resolver.bind_target(target.target, value)

    def _leave_ann_assign(self, node: cst.AnnAssign) -> None:
        resolver = self.resolver
        annotated = resolver.resolve_annotation(node.annotation.annotation)
        assigned = resolver.resolve(node.value) if node.value is not None else None
        resolver.bind_target(node.target, annotated or assigned)

    def _leave_aug_assign(self, node: cst.AugAssign) -> None:
        self.resolver.bind_target(node.target, None)

    def _leave_named_expr(self, node: cst.NamedExpr) -> None:
        self.resolver.bind_target(node.target, self.resolver.resolve(node.value))

    def _prescan_module_bindings(self) -> None:
        """Final module-level bindings, seen by function bodies (they run after the module)."""
        pre = Resolver()

        def scan(statements: Sequence[cst.BaseStatement], depth: int) -> None:
            for statement in statements:
                pre.conditional[-1] = depth
                if type(statement) is cst.SimpleStatementLine:
                    for small in statement.body:
                        if isinstance(small, (cst.Import, cst.ImportFrom)):
                            pre.bind_import(small)
                        elif type(small) is cst.Assign:
                            value = pre.resolve(small.value)
                            for target in small.targets:
                                pre.bind_target(target.target, value)
                        elif type(small) is cst.AnnAssign:
                            annotated = pre.resolve_annotation(small.annotation.annotation)
                            val = pre.resolve(small.value) if small.value else None
                            pre.bind_target(small.target, annotated or val)
                        elif type(small) is cst.AugAssign:
                            pre.bind_target(small.target, None)
                elif type(statement) is cst.FunctionDef:
                    pre.bind(statement.name.value, self._function_key(statement))
                elif type(statement) is cst.ClassDef:
                    pre.bind(statement.name.value, None)
                else:
                    if type(statement) is cst.For:
                        pre.bind_target(statement.target, None)
                    elif type(statement) is cst.With:
                        for item in statement.items:
                            if item.asname is not None:
                                pre.bind_target(item.asname.name, pre.resolve(item.item))
                    nested = isinstance(statement, (cst.If, cst.Try, cst.TryStar))
                    for block in _blocks(statement):
                        scan(block, depth + 1 if nested else depth)

        scan(self.module.body, 0)
        self.resolver.module_final = pre.module_scope.names
        for statement in self.module.body:
            if type(statement) is cst.FunctionDef:
                self._prescan_function(statement, None)

    def _prescan_class(self, node: cst.ClassDef, scope: Scope) -> None:
        """What the class's methods bind on `self` (`self.client = MlflowClient()` in any
        method, lazily too), what its methods and properties return, and its annotated
        attributes, before its methods are walked: a call through `self.client` in a method
        defined before the one that assigns it resolves as well."""
        resolver = self.resolver
        body = node.body.body if type(node.body) is cst.IndentedBlock else ()
        methods = [s for s in body if type(s) is cst.FunctionDef and not _is_accessor(s)]
        for base in node.bases:  # a base class of this module: what its methods set
            if type(base.value) is cst.Name and base.keyword is None:
                for name, value in self._class_attrs.get(base.value.value, {}).items():
                    scope.attrs.setdefault(name, value)
        if resolver.current is scope and len(resolver.scopes) == 2:
            self._class_attrs[node.name.value] = scope.attrs
        for statement in body:
            if type(statement) is cst.SimpleStatementLine:
                for small in statement.body:
                    if type(small) is cst.AnnAssign and type(small.target) is cst.Name:
                        annotated = resolver.resolve_annotation(small.annotation.annotation)
                        if annotated is not None:
                            scope.attrs[small.target.value] = annotated
        for method in methods:
            if not is_property(method):
                scope.attrs.setdefault(method.name.value, self._function_key(method))
        for _ in range(_CLASS_PRESCAN_ROUNDS):
            before = (dict(scope.attrs), dict(resolver.returns))
            for method in methods:
                returned = self._prescan_function(method, scope)
                if is_property(method) and not _is_accessor(method) and returned is not None:
                    scope.attrs[method.name.value] = returned
            if (scope.attrs, resolver.returns) == before:
                break

    def _prescan_function(self, node: cst.FunctionDef, owner: Optional[Scope]) -> Optional[str]:
        """Read a function's statements (not its expressions, not nested definitions) for the
        MLflow values it binds on `self` and the one it returns; records the latter in
        resolver.returns. Its own annotation (`-> MlflowClient`) wins."""
        resolver = self.resolver
        params = _all_params(node.params)
        scope = Scope("function", owner=owner)
        if owner is not None and params and not _is_staticmethod(node):
            scope.self_name = params[0].name.value
        resolver.push(scope)
        returned: set[Optional[str]] = set()
        try:
            for param in params:
                annotation = param.annotation
                resolver.bind(
                    param.name.value,
                    resolver.resolve_annotation(annotation.annotation) if annotation else None,
                )
            self._prescan_statements(_statements(node.body), returned)
            annotated = (
                resolver.resolve_annotation(node.returns.annotation) if node.returns else None
            )
        finally:
            resolver.pop()
        values = returned - {None}
        value = annotated or (values.pop() if len(values) == 1 else None)
        key = self._function_key(node)
        if value is not None:
            resolver.returns[key] = value
        return value

    def _prescan_statements(
        self, statements: Sequence[cst.BaseStatement], returned: set[Optional[str]]
    ) -> None:
        resolver = self.resolver
        for statement in statements:
            if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        resolver.bind_import(small)
                    elif type(small) is cst.Assign:
                        value = resolver.resolve(small.value)
                        for target in small.targets:
                            resolver.bind_target(target.target, value)
                    elif type(small) is cst.AnnAssign:
                        annotated = resolver.resolve_annotation(small.annotation.annotation)
                        assigned = resolver.resolve(small.value) if small.value else None
                        resolver.bind_target(small.target, annotated or assigned)
                    elif type(small) is cst.AugAssign:
                        resolver.bind_target(small.target, None)
                    elif type(small) is cst.Return and small.value is not None:
                        returned.add(resolver.resolve(small.value))
            elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                resolver.bind(statement.name.value, None)
            elif isinstance(statement, cst.BaseCompoundStatement):
                if type(statement) is cst.For:
                    resolver.bind_target(statement.target, None)
                elif type(statement) is cst.With:
                    for item in statement.items:
                        if item.asname is not None:
                            resolver.bind_target(item.asname.name, resolver.resolve(item.item))
                resolver.conditional[-1] += 1
                for block in _blocks(statement):
                    self._prescan_statements(block, returned)
                resolver.conditional[-1] -= 1

    @staticmethod
    def _function_key(node: cst.FunctionDef) -> str:
        return f"{LOCAL_PREFIX}{id(node)}"

    def _record_call(self, call: cst.Call) -> None:
        callee = self.resolver.resolve(call.func)
        self._callees[id(call)] = callee
        if call.args and not (type(call.func) is cst.Name and call.func.value in _BUILTINS):
            for arg in call.args:
                value = self.resolver.resolve(arg.value)
                if value in ("mlflow", api.CLIENT):
                    self.hands_mlflow.add(id(call))  # a parameter the callee tracks through
                    break
        found = api.api_call_for(callee)
        self._calls[id(call)] = found
        if found is not None and found.name == api.END_RUN and not found.is_client:
            self.ended_in.update(id(a) for a in self.ancestors if type(a) is cst.With)
        if found is not None and self.in_catching_try():
            self.caught_calls.add(id(call))
        if self._function_stack:
            summary = self._function_stack[-1]
            if found is None and api.is_heavy_work(callee):
                summary.heavy_calls.append(call)
            if found is not None:
                summary.api_calls.append((found, call))
            elif callee is not None and callee.startswith(LOCAL_PREFIX):
                summary.helper_calls.append((callee, call))
            else:
                return
            if summary.opened_run:
                summary.in_own_run.add(id(call))
                return
            for node in reversed(self.ancestors):
                if node is summary.node:
                    break
                if type(node) is cst.With and self._opens_run(node):
                    summary.in_own_run.add(id(call))
                    break
            if (
                found is not None
                and (self._is_create_run(call) or self._is_start_run(call))
                and isinstance(self.ancestors[-1], (cst.Assign, cst.Expr))
            ):
                summary.opened_run = True

    # --- facts for rules ------------------------------------------------------------------------
    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """A per-file result several rules share (computed by the first that asks)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def api_call(self, call: cst.Call) -> Optional[api.ApiCall]:
        """The MLflow function or MlflowClient method this call invokes, if proven."""
        return self._calls.get(id(call))

    def local_callee(self, call: cst.Call) -> Optional[str]:
        """The key (in `functions`) of the function defined in this file that `call` invokes."""
        callee = self._callees.get(id(call))
        return callee if callee is not None and callee.startswith(LOCAL_PREFIX) else None

    def resolved_callee(self, call: cst.Call) -> Optional[str]:
        """What `call` invokes, as the resolver names it (`mlflow.pyfunc.load_model`), once
        the walk has reached it."""
        return self._callees.get(id(call))

    def callee_is_local(self, call: cst.Call) -> bool:
        """Whether `call` invokes a function defined in this file (its summary may still be
        incomplete during the walk: ask local_function() once it ended)."""
        return self.local_callee(call) is not None

    def in_catching_try(self, within: Optional[cst.CSTNode] = None) -> bool:
        """Whether the walk is in the body of a `try` (in the same function) with a handler
        that may let the program go on after an error (one that does not end in `raise`), or in
        `with suppress(...)`: an error raised by one of several calls is then observable by the
        code after it. With `within` (a loop), only such a block inside it counts: each
        iteration's failure then costs only that iteration (`try: log_param(k, v) except
        MlflowException: continue`)."""
        ancestors = self.ancestors
        for index in range(len(ancestors) - 1, 0, -1):
            node, child = ancestors[index - 1], ancestors[index]
            if node is within or type(node) in _SCOPE_KINDS:
                return False
            if (
                (type(node) is cst.Try or type(node) is cst.TryStar)
                and child is node.body
                and any(not _reraises(handler.body) for handler in node.handlers)
            ):
                return True
            if type(node) is cst.With and child is node.body:
                for item in node.items:
                    called = item.item.func if type(item.item) is cst.Call else None
                    name = getattr(called, "attr", called)
                    if type(name) is cst.Name and name.value == "suppress":
                        return True
        return False

    def enclosing_function(self) -> Optional[cst.FunctionDef]:
        """The innermost function definition around the node being visited, if any."""
        return next((a for a in reversed(self.ancestors) if type(a) is cst.FunctionDef), None)

    def improving(self) -> bool:
        """Whether the walk is in the body of an `if` (in the same scope) that tests for a
        new best (`if val_acc > self.best_acc:`; see is_improvement)."""
        ancestors = self.ancestors
        for index in range(len(ancestors) - 1, 0, -1):
            node, child = ancestors[index - 1], ancestors[index]
            if type(node) in _SCOPE_KINDS:
                return False
            if type(node) is cst.If and child is node.body and is_improvement(node.test):
                return True
        return False

    def in_own_run(self, call: cst.Call) -> bool:
        """Whether `call`, already walked, logs to a run its function opens itself (`with
        mlflow.start_run():` around it, or `start_run()` / `create_run()` before it): once
        per call of the function, whatever its name or parameters say."""
        stack = self._function_stack
        return bool(stack) and id(call) in stack[-1].in_own_run

    def function_key(self, node: cst.FunctionDef) -> str:
        """The key of a function of this file, as local_callee() gives it."""
        return self._function_key(node)

    def local_function(self, call: cst.Call) -> Optional[FunctionSummary]:
        """The function defined in this file that `call` invokes, if any."""
        callee = self.local_callee(call)
        return self.functions.get(callee) if callee is not None else None

    def reachable_api_calls(
        self,
        summary: FunctionSummary,
        max_depth: int = 3,
        own_runs: bool = False,
        site: Optional[cst.Call] = None,
    ) -> list[tuple[api.ApiCall, cst.Call, tuple[str, ...]]]:
        """MLflow calls made by a local function or the local helpers it calls (bounded depth),
        each with the chain of function names that leads to it. Calls inside a run the
        function opens itself are left out unless `own_runs`: calling such a function in a
        loop logs once per run, not per iteration of one run. So are calls a function makes
        only when a parameter is None (`if client is None: client = MlflowClient()`,
        `experiment_id = experiment_id or lookup()`) where the call that leads there (`site`
        for `summary`) passes that parameter a value. Call only once the walk ended."""
        return [
            (call, node, chain)
            for fn, chain, skipped in self._reachable(summary, max_depth, own_runs, site)
            for call, node in fn.api_calls
            if (own_runs or id(node) not in fn.in_own_run) and id(node) not in skipped
        ]

    def reaches_heavy_work(self, summary: FunctionSummary, site: Optional[cst.Call]) -> bool:
        """Whether a local function, or the local helpers it calls, moves files or models or
        evaluates a model (api.HEAVY_WORK), as reachable_api_calls() follows them."""
        for fn, _, skipped in self._reachable(summary, 3, False, site):
            if any(id(call) not in skipped for call in fn.heavy_calls) or any(
                found.name in api.HEAVY_WORK
                and id(node) not in fn.in_own_run
                and id(node) not in skipped
                for found, node in fn.api_calls
            ):
                return True
        return False

    def _reachable(
        self,
        summary: FunctionSummary,
        max_depth: int,
        own_runs: bool,
        site: Optional[cst.Call],
    ) -> Iterator[tuple[FunctionSummary, tuple[str, ...], set[int]]]:
        """The local functions reachable from `summary` (itself first), each with the chain
        of names that leads to it and the ids of the calls it skips at that site."""
        seen: set[str] = set()
        todo: list[tuple[FunctionSummary, tuple[str, ...], int, Optional[cst.Call]]] = [
            (summary, (), 1, site)
        ]
        while todo:
            fn, chain, depth, at = todo.pop()
            key = self._function_key(fn.node)
            if key in seen:
                continue
            seen.add(key)
            chain = (*chain, fn.name)
            skipped = self._skipped_at(fn, at)
            yield fn, chain, skipped
            if depth < max_depth:
                for helper_key, helper_call in reversed(fn.helper_calls):
                    if not own_runs and id(helper_call) in fn.in_own_run:
                        continue
                    if id(helper_call) in skipped:
                        continue
                    helper = self.functions.get(helper_key)
                    if helper is not None:
                        todo.append((helper, chain, depth + 1, helper_call))

    def helper_call(
        self,
        call: cst.Call,
        wanted: Callable[[api.ApiCall, cst.Call], bool],
        own_runs: bool = False,
    ) -> Optional[tuple[api.ApiCall, cst.Call, str]]:
        """The first `wanted` MLflow call reachable through the local function that `call`
        invokes (see reachable_api_calls), with the chain that leads to it ("train_epoch ->
        log_stats"); None when `call` calls no local function or it makes no such call. Call
        only once the walk ended."""
        helper = self.local_function(call)
        if helper is None:
            return None
        for found, node, chain in self.reachable_api_calls(helper, own_runs=own_runs, site=call):
            if wanted(found, node):
                return found, node, " -> ".join(chain)
        return None

    def _skipped_at(self, fn: FunctionSummary, site: Optional[cst.Call]) -> set[int]:
        """ids of the calls `fn` makes only when a parameter that `site` passes is None."""
        if site is None:
            return set()
        guarded = self._none_guarded(fn)
        if not guarded:
            return set()
        passed = _passed_params(site, fn.node)
        return {call_id for call_id, param in guarded.items() if param in passed}

    def _none_guarded(self, fn: FunctionSummary) -> dict[int, str]:
        """id(call) -> the parameter of `fn` that must be None (or empty) for the call to run:
        calls in `if param is None:` (`== None`, `not param`; an `and` of one of these), in
        the `else` of `if param is not None:` / `if param:`, right of `param or ...`, and in
        the branch of a conditional expression that `param is None` selects."""

        def compute() -> dict[int, str]:
            params = parameter_names(fn.node)
            guarded: dict[int, str] = {}

            def mark(root: Optional[cst.CSTNode], param: str) -> None:
                todo = [root] if root is not None else []
                while todo:
                    current = todo.pop()
                    if isinstance(current, _SCOPE_BOUNDARIES):
                        continue
                    if type(current) is cst.Call:
                        guarded.setdefault(id(current), param)
                    todo.extend(iter_children(current))

            todo: list[cst.CSTNode] = [fn.node.body]
            while todo:
                current = todo.pop()
                if isinstance(current, _SCOPE_BOUNDARIES):
                    continue
                if isinstance(current, (cst.If, cst.IfExp)):
                    when_none, when_set = _none_test(current.test, params)
                    if when_none is not None:
                        mark(current.body, when_none)
                    if when_set is not None:
                        mark(current.orelse, when_set)
                elif type(current) is cst.BooleanOperation and isinstance(current.operator, cst.Or):
                    left = current.left
                    if type(left) is cst.Name and left.value in params:
                        mark(current.right, left.value)
                todo.extend(iter_children(current))
            return guarded

        guarded: dict[int, str] = self.memo(f"none-guarded:{id(fn.node)}", compute)
        return guarded

    def repeating_loops(self, node: Optional[cst.CSTNode] = None) -> list[LoopFrame]:
        """loops(node) without the frames that repeat nothing worth counting: those it runs in
        at most once, loops over a written-out handful (fixed_handful) and over the folds of
        a cross-validation (per_fold)."""
        return [
            frame
            for frame in self.loops(node)
            if not frame.at_most_once
            and not self.fixed_handful(frame.loop)
            and not self.per_fold(frame.loop)
        ]

    def loops(
        self, node: Optional[cst.CSTNode] = None, through_runs: bool = False
    ) -> list[LoopFrame]:
        """Loops, innermost first, that run the current node (or `node`, an ancestor's child)
        on every iteration. Stops at a function, lambda or class boundary, and at a run opened
        per iteration (`for cfg in grid: with mlflow.start_run(): ...`, or `run =
        client.create_run(...)` in the loop's body): calls inside that run are per-run, not
        per-iteration, as far as the outer loops are concerned (`through_runs`: not there,
        for counting requests, which such a run still repeats). A frame is `at_most_once` when
        the node runs on one iteration of that loop at most: it is in, or followed by, an
        unconditional `return`/`raise` (or a `break` of that loop) in the blocks between it
        and the loop; or it is under an `if` that holds once (see holds_once). A node in an
        `except` handler counts as once too, in every loop, whether the handler is inside the
        loops or around them: it runs when something failed (a fallback that logs item by
        item after a batch failed, a retry's report), no per-iteration cost worth a finding.
        So does code after an unconditional `continue`, `break`, `return` or `raise` in its
        block, which never runs."""
        # several rules ask for the same call's loops: computed once per node and place
        key = (
            id(node),
            len(self.ancestors),
            id(self.ancestors[-1]) if self.ancestors else 0,
            through_runs,
        )
        known = self._loops.get(key)
        if known is not None:
            return list(known)
        chain = [*self.ancestors, node] if node is not None else list(self.ancestors)
        frames: list[LoopFrame] = []
        terminated_by_return = False
        breaks_inner = False  # a break seen below the next loop up exits that loop only
        throttled = improving = False
        failing = False  # in an `except` handler: runs when something failed, not each time
        unreachable = False  # after an unconditional `continue`, `break`, `return` or `raise`
        guards: list[cst.If] = []  # the `if`s whose body holds the node
        for index in range(len(chain) - 2, -1, -1):
            parent, child = chain[index], chain[index + 1]
            kind = type(parent)  # exact types: isinstance on libcst's ABCs is slow here
            if kind in _SCOPE_BOUNDARY_KINDS:
                break
            if kind in _BLOCK_KINDS:
                terminated_by_return, breaks_inner = _scan_following(
                    parent, child, terminated_by_return, breaks_inner, self._block_exits
                )
                if _after_exit(parent, child, self._block_exits):
                    unreachable = True
            elif type(parent) is cst.If and child is parent.body:
                guards.append(parent)
                if _is_throttle(parent.test):
                    throttled = True
                elif is_improvement(parent.test):
                    improving = True
            elif (
                type(parent) is cst.With
                and child is parent.body
                and not through_runs
                and self._opens_run(parent)
            ):
                break
            elif kind in _HANDLER_KINDS:
                failing = True
            if kind in _REPEATING_KINDS and _runs_per_iteration(parent, child, chain, index):
                statement = chain[index + 2] if index + 2 < len(chain) else None
                if (
                    not through_runs
                    and isinstance(parent, (cst.For, cst.While))
                    and self._body_starts_run(parent, child, statement)
                ):
                    break  # a run per iteration: its calls are per-run, not per-iteration
                if index > 0 and type(parent) is cst.For:
                    self._loop_blocks[id(parent)] = chain[index - 1]
                once = terminated_by_return or breaks_inner or failing
                if not once and type(parent) is cst.For:
                    once = self._walks_one_item(parent)
                if not once and guards:
                    once = any(self.holds_once(guard, parent) for guard in guards)
                frames.append(LoopFrame(parent, once, throttled, improving))
                breaks_inner = False
        if failing or unreachable:  # also a loop inside a handler: a fallback, an error path
            frames = [dataclasses.replace(frame, at_most_once=True) for frame in frames]
        self._loops[key] = frames
        return list(frames)

    def exits_loop_after(self, loop: cst.CSTNode) -> bool:
        """The current node is followed, in one of the blocks between it and `loop`, by an
        unconditional `break`, `return` or `raise`: `loop` runs it on one iteration at most
        (a retry loop: `for attempt in ...: try: start(); break; except: wait()`)."""
        chain = self.ancestors
        returns = breaks = False
        for index in range(len(chain) - 2, -1, -1):
            parent, child = chain[index], chain[index + 1]
            if parent is loop:
                return returns or breaks
            kind = type(parent)
            if kind in _SCOPE_BOUNDARY_KINDS:
                return False
            if kind is cst.For or kind is cst.While:
                breaks = False  # a break below an inner loop exits that loop only
            if kind in _BLOCK_KINDS:
                returns, breaks = _scan_following(parent, child, returns, breaks, self._block_exits)
        return False

    @property
    def _loop_blocks(self) -> dict[int, cst.CSTNode]:
        """id(loop) -> the block holding it, recorded by loops() while the ancestors are known
        (iterates_chunks() looks there for the assignment of a name the loop iterates)."""
        blocks: dict[int, cst.CSTNode] = self.memo("loop-blocks", dict)
        return blocks

    def holds_once(self, guard: cst.If, loop: cst.CSTNode) -> bool:
        """Whether `guard`'s body runs on one iteration of `loop` at most (an `and` holds
        when one of its operands does):
        - `if i == best:` / `if i is best:`: one side is the loop's own variable or a counter
          the loop steps (`n += 1`), the other side does not change in the loop: the values
          of one variable over the iterations are taken to be distinct (an index, an id);
        - `if not self._client:` / `if cache is None:` (also `== None`, `is False`) whose body
          assigns that name, and nothing else in the loop does: a first-time initialisation."""
        key = f"once:{id(guard)}:{id(loop)}"
        return bool(self.memo(key, lambda: self._compute_holds_once(guard, loop)))

    def _compute_holds_once(self, guard: cst.If, loop: cst.CSTNode) -> bool:
        tests: list[cst.BaseExpression] = [guard.test]
        while tests:
            test = tests.pop()
            if type(test) is cst.BooleanOperation:
                if type(test.operator) is cst.And:
                    tests.extend((test.left, test.right))
                continue
            if self._equals_once(test, loop) or self._first_time(test, guard, loop):
                return True
        return False

    def _equals_once(self, test: cst.BaseExpression, loop: cst.CSTNode) -> bool:
        if not (type(test) is cst.Comparison and len(test.comparisons) == 1):
            return False
        if not isinstance(test.comparisons[0].operator, (cst.Equal, cst.Is)):
            return False
        left, right = test.left, test.comparisons[0].comparator
        stepped = self._stepped_by(loop)
        varying = self.loop_varying(loop, items=True)
        for one, other in ((left, right), (right, left)):
            spelled = spelling(one)
            if spelled is not None and spelled in stepped and self.invariant(other, varying):
                return True
        return False

    def _stepped_by(self, loop: cst.CSTNode) -> frozenset[str]:
        """The loop's own variables (a `for` target's names) and the counters its body steps
        (`step += 1`, `self.n += 1`): each takes a new value on every iteration."""

        def compute() -> frozenset[str]:
            names: set[str] = set()
            if type(loop) is cst.For:
                names.update(_bound_names(loop.target))
            for current in loop_nodes(loop):
                if type(current) is cst.AugAssign and isinstance(
                    current.operator, (cst.AddAssign, cst.SubtractAssign)
                ):
                    spelled = spelling(current.target)
                    if spelled is not None:
                        names.add(spelled)
            return frozenset(names)

        stepped: frozenset[str] = self.memo(f"stepped:{id(loop)}", compute)
        return stepped

    def _first_time(self, test: cst.BaseExpression, guard: cst.If, loop: cst.CSTNode) -> bool:
        flag: Optional[cst.BaseExpression] = None
        if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
            flag = test.expression
        elif type(test) is cst.Comparison and len(test.comparisons) == 1:
            compared = test.comparisons[0]
            if isinstance(compared.operator, (cst.Is, cst.Equal)) and (
                type(compared.comparator) is cst.Name
                and compared.comparator.value in ("None", "False")
            ):
                flag = test.left
        spelled = spelling(flag) if flag is not None else None
        if spelled is None:
            return False
        inside = outside = 0
        for current in self._assignments_in(loop).get(spelled, ()):
            if contains(guard.body, current):
                inside += 1
            else:
                outside += 1
        return inside > 0 and outside == 0

    def _assignments_in(self, loop: cst.CSTNode) -> dict[str, list[cst.CSTNode]]:
        """What `loop`'s iterations assign, by name or dotted attribute: the assignments."""

        def compute() -> dict[str, list[cst.CSTNode]]:
            found: dict[str, list[cst.CSTNode]] = {}
            for current in loop_nodes(loop):
                for target in _assignment_targets(current):
                    for name in _bound_names(target):
                        found.setdefault(name, []).append(current)
            return found

        assignments: dict[str, list[cst.CSTNode]] = self.memo(f"assigned:{id(loop)}", compute)
        return assignments

    def loop_varying(self, loop: cst.CSTNode, items: bool = False) -> frozenset[str]:
        """Names and dotted attributes (`page.token`, `self.n`) that can change from one
        iteration of `loop` to the next: its targets (a comprehension's too), what its body
        binds (`x = ...`, `x += 1`, `with ... as x`, `for x in ...`, `x := ...`), the base of
        a subscript or attribute it assigns (`d[k] = v` changes `d`), and what it mutates in
        place (`queue.pop()`, `items.append(x)`, `next(it)`). Nested definitions excluded.
        With `items`, a store under a written-out string key changes that item alone
        (`params["scale"] = x` gives `params["scale"]`, and `params["start"]` still reads
        the same value: see invariant)."""

        def compute() -> frozenset[str]:
            names: set[str] = set()
            if type(loop) is cst.For:
                names.update(_bound_names(loop.target))
            elif isinstance(loop, COMPREHENSION_TYPES):
                comp: Optional[cst.CompFor] = loop.for_in
                while comp is not None:
                    names.update(_bound_names(comp.target))
                    comp = comp.inner_for_in
            for current in loop_nodes(loop):
                for target in _assignment_targets(current):
                    item = _item_spelling(target) if items else None
                    names.update([item] if item is not None else _bound_names(target))
                if type(current) is cst.Call:
                    func = current.func
                    if type(func) is cst.Attribute and func.attr.value in _MUTATORS:
                        spelled = spelling(func.value)
                        if spelled is not None:
                            names.add(spelled)
                    elif type(func) is cst.Name and func.value == "next" and current.args:
                        spelled = spelling(current.args[0].value)
                        if spelled is not None:
                            names.add(spelled)
            return frozenset(names)

        varying: frozenset[str] = self.memo(f"varying:{id(loop)}:{items}", compute)
        return varying

    @staticmethod
    def invariant(expression: cst.CSTNode, varying: frozenset[str]) -> bool:
        """Whether `expression` has the same value on every iteration of a loop whose
        `loop_varying` names are `varying`: it reads none of them (nor an attribute of one),
        calls nothing but a few pure builtins (`str`, `int`, `len`, ...), and does not await,
        yield or build a comprehension."""
        todo: list[cst.CSTNode] = [expression]
        while todo:
            current = todo.pop()
            if isinstance(
                current, (cst.Await, cst.Yield, cst.Lambda, cst.NamedExpr, *COMPREHENSION_TYPES)
            ):
                return False
            if type(current) is cst.Call:
                if not (type(current.func) is cst.Name and current.func.value in _PURE):
                    return False
                todo.extend(arg.value for arg in current.args)
                continue
            item = _item_spelling(current)
            if item is not None:  # `params["start"]`: changed by its own store, or its base's
                if item in varying:
                    return False
                todo.append(current.value)  # type: ignore[attr-defined]
                continue
            if isinstance(current, (cst.Name, cst.Attribute)):
                spelled = spelling(current)
                if spelled is not None:
                    parts = spelled.split(".")
                    if any(".".join(parts[:n]) in varying for n in range(1, len(parts) + 1)):
                        return False
                    continue
            todo.extend(iter_children(current))
        return True

    def paced(self, loop: cst.CSTNode) -> bool:
        """Whether each iteration of `loop` waits, for time or for a person, so that its
        requests come at the pace of a poll, a user or a job, not in a burst: its body calls
        `sleep(...)` (`time`, `asyncio`, ...), `.wait(...)` / `.wait_for(...)` (`Event`,
        `Condition`), `.get(..., timeout=...)` (a queue), reads input (`input()`,
        `click.prompt(...)`, `click.confirm(...)`, `getpass()`, `Prompt.ask(...)`), or runs
        a child process to its end (`subprocess.run(...)`, `os.system(...)`)."""

        def compute() -> bool:
            for current in loop_nodes(loop):
                if type(current) is cst.Call and _waits(current):
                    return True
            return False

        # a file that never spells a waiting call has no paced loop: no body to walk
        if self.text and not self.memo("may-wait", lambda: bool(_WAIT_WORDS.search(self.text))):
            return False
        paced: bool = self.memo(f"paced:{id(loop)}", compute)
        return paced

    @staticmethod
    def literal_length(loop: cst.CSTNode) -> Optional[int]:
        """How many iterations `loop` makes when its iterable is written out: a list, tuple,
        set or dict display (`for split in ("train", "test")`), or `enumerate(...)` /
        `.items()` of one. None otherwise (`range(3)` too: in examples and tests it stands
        for a loop of any length)."""
        if type(loop) is cst.For:
            iterable: cst.BaseExpression = loop.iter
        elif isinstance(loop, COMPREHENSION_TYPES) and loop.for_in.inner_for_in is None:
            iterable = loop.for_in.iter
        else:
            return None
        return _literal_length(iterable)

    @staticmethod
    def fixed_handful(loop: cst.CSTNode) -> bool:
        """A loop over a written-out iterable of three items or fewer (`for split in ("train",
        "test")`): a fixed handful of iterations, like as many statements written out."""
        length = FileContext.literal_length(loop)
        return length is not None and length <= MAX_FIXED_ITERATIONS

    @staticmethod
    def per_fold(loop: cst.CSTNode) -> bool:
        """A loop over the folds of a cross-validation: its variable is named for folds
        (`for fold, (train, test) in ...`, `fold_idx`), or it walks a splitter's folds
        (`kfold.split(X, y)`, `skf.split(...)`, `KFold(5).split(X)`) or counts them
        (`range(n_folds)`). k is a handful (5 or 10) fixed for the run, and each fold trains
        a model: what it logs per fold is a few requests per run."""
        if type(loop) is not cst.For:
            return False
        if any(_FOLD.search(name) for name in _target_names(loop.target)):
            return True
        iterable = unwrapped(loop.iter, _PASS_THROUGH)
        if type(iterable) is not cst.Call:
            return False
        func = iterable.func
        if type(func) is cst.Name and func.value == "range":
            return any(_FOLD.search(code_of_names(arg.value)) for arg in iterable.args)
        if type(func) is not cst.Attribute or func.attr.value != "split":
            return False
        receiver = func.value
        if type(receiver) is cst.Call:
            receiver = receiver.func
        name = code_of_names(receiver)
        return bool(_FOLD.search(name)) or name.rsplit(".", 1)[-1].lower() in _SPLITTERS

    def iterates_chunks(self, loop: cst.CSTNode) -> bool:
        """Whether each iteration of `loop` handles one size-capped chunk of a single
        collection: `for i in range(0, len(items), 1000)` whose body slices `items[i : ...]`,
        `for part in chunked(items, 100)` (any callee named `*chunk*`, `batched`,
        `array_split`), also through `zip`/`enumerate`, or a name the loop's block assigned
        from one of these before the loop (`batches = chunk_list(items, 100)`)."""

        def compute() -> bool:
            if type(loop) is not cst.For:
                return False
            if _chunk_range(loop):
                return True
            return _chunk_iterable(loop.iter, self.assigned_before(loop))

        chunked: bool = self.memo(f"chunks:{id(loop)}", compute)
        return chunked

    def assigned_before(self, loop: cst.For) -> dict[str, cst.BaseExpression]:
        """The names the loop's block assigns before the loop (`name = value`), each with
        its last value there."""

        def compute() -> dict[str, cst.BaseExpression]:
            assigned: dict[str, cst.BaseExpression] = {}
            for statement in getattr(self._loop_blocks.get(id(loop)), "body", ()):
                if statement is loop:
                    break
                for small in _small_statements(statement):
                    if type(small) is cst.Assign and len(small.targets) == 1:
                        target = small.targets[0].target
                        if type(target) is cst.Name:
                            assigned[target.value] = small.value
            return assigned

        found: dict[str, cst.BaseExpression] = self.memo(f"assigned:{id(loop)}", compute)
        return found

    def _walks_one_item(self, loop: cst.For) -> bool:
        """`run_ids = ["ecc6f5..."]` and then `for run_id in run_ids:` in the same block, the
        name untouched in between (a notebook's cell, a script's pick): one iteration."""
        iterable = loop.iter
        block = self._loop_blocks.get(id(loop))
        if type(iterable) is not cst.Name or block is None:
            return False

        def compute() -> bool:
            one = False
            for statement in getattr(block, "body", ()):
                if statement is loop:
                    return one
                smalls = list(_small_statements(statement))
                if (
                    len(smalls) == 1
                    and type(smalls[0]) is cst.Assign
                    and len(smalls[0].targets) == 1
                    and type(smalls[0].targets[0].target) is cst.Name
                    and smalls[0].targets[0].target.value == iterable.value
                ):
                    one = _literal_length(smalls[0].value) == 1
                elif one and uses_names(statement, [iterable.value]):
                    one = False  # appended to, passed on: may hold more by now
            return False

        walks_one: bool = self.memo(f"one-item:{id(loop)}", compute)
        return walks_one

    def _opens_run(self, with_node: cst.With) -> bool:
        """`with mlflow.start_run():`, or a context manager named for a run or for MLflow,
        whose code lives elsewhere (`with tracker.start_run(name):`, `with
        self.run_context():`, `with plugins["MLFlowPlugin"]:`): each entry opens a run."""
        for item in with_node.items:
            entered = item.item
            if type(entered) is cst.Call:
                if self._is_start_run(entered):
                    return True
                entered = entered.func
            if _named_for_run(entered):
                return True
        return False

    def _is_start_run(self, call: cst.Call) -> bool:
        found = self.api_call(call)
        return found is not None and not found.is_client and found.name == "start_run"

    def _body_starts_run(
        self, loop: cst.For | cst.While, child: cst.CSTNode, statement: Optional[cst.CSTNode]
    ) -> bool:
        """`for x in xs: run = mlflow.start_run(); ...; mlflow.end_run()` opens a run per
        iteration without `with`; `run = client.create_run(...)` creates one. The start may
        sit under the body's `if`s and `try`s (`if enabled: mlflow.start_run(...)`); there the
        body must also end it (`end_run()` on its paths), or a start under a first-iteration
        guard would pass for a run per iteration. Only what follows the start is in the run:
        `statement`, the body's statement that holds the node, is not before it."""
        body = loop.body
        if child is not body or type(body) is not cst.IndentedBlock:
            return False
        first: Optional[int] = self.memo(
            f"body-runs:{id(loop)}", lambda: self._first_run_start(body)
        )
        if first is None:
            return False
        index = next((i for i, s in enumerate(body.body) if s is statement), None)
        return index is not None and first <= index

    def _first_run_start(self, body: cst.IndentedBlock) -> Optional[int]:
        """The index of the body's first statement that starts a run per iteration."""
        starts: list[int] = []
        nested: list[int] = []  # starts under an `if`/`try`/`with`: count if a run is ended
        ends = False
        for index, depth, call in _statement_calls(body):
            # calls after the current node are not walked yet: resolved here
            found = self.api_call(call) or api.api_call_for(self.resolver.resolve(call.func))
            if found is None:
                continue
            if (found.name == "create_run" and found.is_client) or (
                found.name == api.START_RUN and not found.is_client and depth == 0
            ):
                starts.append(index)
            elif found.name == api.START_RUN and not found.is_client:
                nested.append(index)
            elif found.name in (api.END_RUN, "set_terminated"):
                ends = True
        if ends:
            starts += nested
        return min(starts, default=None)

    def _is_create_run(self, call: cst.Call) -> bool:
        found = self.api_call(call)
        return found is not None and found.is_client and found.name == "create_run"

    def loop_label(self, loop: cst.CSTNode) -> str:
        """A short name for a loop in messages: its variable (`epoch`; the first of a tuple
        that is not a throwaway, `batch_idx` for `for batch_idx, (x, y) in
        enumerate(loader)`, `row` for `for _, row in df.iterrows()`), or its kind."""
        if type(loop) is cst.For:
            names = [n for n in _target_names(loop.target) if n.strip("_")]
            if names and len(names[0]) <= 24:
                return names[0]
            return "for"
        return "while" if type(loop) is cst.While else "comprehension"

    def top_statement(self) -> Optional[cst.CSTNode]:
        """The top-level statement of the module that holds the node being visited."""
        return self.ancestors[1] if len(self.ancestors) > 1 else None

    def enclosing(self, *types: type) -> Optional[cst.CSTNode]:
        for node in reversed(self.ancestors):
            if isinstance(node, types):
                return node
        return None

    def code(self, node: cst.CSTNode) -> str:
        """The source of `node`, lines ending with "\n" (fix contents are written so; the
        engine gives them the file's own line ending)."""
        simple = _simple_code(node)  # libcst's codegen costs a context manager per node
        return simple if simple is not None else self._render.code_for_node(node)

    def module_uses_names(self, names: Iterable[str], skip: Optional[cst.CSTNode] = None) -> bool:
        """Whether any of `names` occurs anywhere in the file (outside `skip`), stubbed
        definitions included."""
        names = list(names)
        return not self.elided_names.isdisjoint(names) or uses_names(self.module, names, skip)


_TEST_FOLDER_WORDS = frozenset({"test", "tests", "testing"})


def is_test_code(path: str, function: Optional[cst.FunctionDef] = None) -> bool:
    """A test module (pytest's names, or a tests/ folder), or a test function in any module:
    its few calls run against a throwaway store, not a production server."""
    if function is not None and function.name.value.startswith("test_"):
        return True
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(part in _TEST_FOLDER_WORDS for part in parts[:-1])
    )


def _simple_code(node: cst.CSTNode) -> Optional[str]:
    """The code of a name, a dotted name (plain spaces around its dots) or a plain literal
    without parentheses, as libcst's codegen writes it; None for anything else."""
    kind = type(node)
    if kind is cst.Name or kind is cst.SimpleString or kind is cst.Integer or kind is cst.Float:
        return None if node.lpar else node.value  # type: ignore[attr-defined]
    if kind is not cst.Attribute:
        return None
    assert type(node) is cst.Attribute
    dot = node.dot
    before, after = dot.whitespace_before, dot.whitespace_after
    if (
        node.lpar
        or node.attr.lpar
        or type(before) is not cst.SimpleWhitespace
        or type(after) is not cst.SimpleWhitespace
    ):
        return None
    value = _simple_code(node.value)
    if value is None:
        return None
    return f"{value}{before.value}.{after.value}{node.attr.value}"


Hook = Callable[[FileContext, Any], None]
_ENTER_HOOKS: dict[type, Optional[Hook]] = {}
_LEAVE_HOOKS: dict[type, Optional[Hook]] = {}


@lru_cache(maxsize=16)
def _inert_types(visited: frozenset[type], left: frozenset[type]) -> frozenset[type]:
    """The node types the walk can skip for rules that visit `visited` and leave `left`:
    no rule method, no context hook, no children."""
    return frozenset(
        kind
        for kind in NODE_TYPES
        if kind not in visited
        and kind not in left
        and not _may_have_children(kind)
        and _hook_for(kind, leaving=False) is None
        and _hook_for(kind, leaving=True) is None
    )


def _may_have_children(kind: type) -> bool:
    """Whether a node of this type can hold another node (a walked field not typed as text
    or a number: `Name.value` is a str)."""
    types = {f.name: f.type for f in dataclasses.fields(kind)}
    return any(types.get(name) not in (str, int, float, bool) for name in child_fields(kind))


def _hook_for(node_type: type, leaving: bool) -> Optional[Hook]:
    """The context hook for a node type (most types have none), computed once per type."""
    hook: Optional[Hook] = None
    if not leaving:
        if issubclass(node_type, (cst.Import, cst.ImportFrom)):
            hook = FileContext._enter_import
        elif issubclass(node_type, cst.Call):
            hook = FileContext._record_call
        elif issubclass(node_type, cst.BaseSuite):
            hook = FileContext._enter_suite
        elif issubclass(node_type, cst.Lambda):
            hook = FileContext._enter_lambda
        elif issubclass(node_type, COMPREHENSION_TYPES):
            hook = FileContext._enter_comprehension
        elif issubclass(node_type, _CONDITIONAL_TYPES):
            hook = FileContext._enter_conditional
        _ENTER_HOOKS[node_type] = hook
        return hook
    if issubclass(node_type, _CONDITIONAL_TYPES):
        hook = FileContext._leave_conditional
    elif issubclass(node_type, cst.BaseSuite):
        hook = FileContext._leave_suite
    elif issubclass(node_type, cst.FunctionDef):
        hook = FileContext._leave_function
    elif issubclass(node_type, cst.ClassDef):
        hook = FileContext._leave_class
    elif issubclass(node_type, (cst.Lambda, *COMPREHENSION_TYPES)):
        hook = FileContext._leave_scope
    elif issubclass(node_type, cst.Assign):
        hook = FileContext._leave_assign
    elif issubclass(node_type, cst.AnnAssign):
        hook = FileContext._leave_ann_assign
    elif issubclass(node_type, cst.AugAssign):
        hook = FileContext._leave_aug_assign
    elif issubclass(node_type, cst.NamedExpr):
        hook = FileContext._leave_named_expr
    _LEAVE_HOOKS[node_type] = hook
    return hook


def _statement_calls(block: cst.IndentedBlock) -> Iterator[tuple[int, int, cst.Call]]:
    """The calls that make up a block's statements (`x = f()`, `f()`): (the index of the
    block's statement that holds it, how many `if`, `try` or `with` levels down it is, the
    call). Nested loops and definitions are not entered."""
    pending: list[tuple[int, int, Sequence[cst.CSTNode]]] = [
        (index, 0, (statement,)) for index, statement in enumerate(block.body)
    ]
    while pending:
        index, depth, statements = pending.pop()
        for statement in statements:
            if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                for small in statement.body:
                    value = getattr(small, "value", None)
                    if type(value) is cst.Call:
                        yield index, depth, value
            elif isinstance(statement, (cst.If, cst.Try, cst.With)):
                for part in _blocks_of(statement):
                    inner = part.body if type(part) is cst.IndentedBlock else (part,)
                    pending.append((index, depth + 1, inner))


def _blocks_of(statement: cst.CSTNode) -> Iterator[cst.BaseSuite]:
    """The blocks of an `if` (with its `elif`s and `else`), a `try` or a `with`."""
    if type(statement) is cst.If:
        yield statement.body
        if statement.orelse is not None:
            if type(statement.orelse) is cst.If:
                yield from _blocks_of(statement.orelse)
            else:
                yield statement.orelse.body
    elif type(statement) is cst.Try:
        yield statement.body
        for handler in statement.handlers:
            yield handler.body
        for extra in (statement.orelse, statement.finalbody):
            if extra is not None:
                yield extra.body
    elif type(statement) is cst.With:
        yield statement.body


def _runs_per_iteration(
    parent: cst.CSTNode, child: cst.CSTNode, chain: list[cst.CSTNode], index: int
) -> bool:
    if type(parent) is cst.For:
        return child is parent.body or child is parent.target
    if type(parent) is cst.While:
        return child is parent.body or child is parent.test
    if isinstance(parent, COMPREHENSION_TYPES):
        if child is not parent.for_in:
            return True  # elt / key / value
        # inside the outermost CompFor: only its `iter` is evaluated once
        grandchild = chain[index + 2] if index + 2 < len(chain) else None
        return grandchild is not parent.for_in.iter
    return False


@dataclass
class _BlockExits:
    """Where a block's statements leave it unconditionally, read once per block (a long loop
    body holds thousands of calls, and each asks about its own statement)."""

    index: dict[int, int]  # id(statement) -> its position in the block
    first_exit: int  # the first statement with `continue`/`break`/`return`/`raise`
    returns_from: list[bool]  # a `return`/`raise` at this position or after it
    breaks_from: list[bool]  # a `break` at this position or after it


def _exits_of(container: cst.CSTNode, known: dict[int, _BlockExits]) -> _BlockExits:
    """The block's exits, from `known` (the file's, by block) or read now."""
    found = known.get(id(container))
    if found is not None:
        return found
    body: Sequence[cst.CSTNode] = getattr(container, "body", ())
    first_exit = len(body)
    returns_from = [False] * (len(body) + 1)
    breaks_from = [False] * (len(body) + 1)
    for position in range(len(body) - 1, -1, -1):
        smalls = _small_statements(body[position])
        returns_from[position] = returns_from[position + 1] or any(
            type(small) in _TERMINATOR_KINDS for small in smalls
        )
        breaks_from[position] = breaks_from[position + 1] or any(
            type(small) is cst.Break for small in smalls
        )
        if any(type(small) in _EXIT_KINDS for small in smalls):
            first_exit = position
    exits = _BlockExits(
        {id(statement): position for position, statement in enumerate(body)},
        first_exit,
        returns_from,
        breaks_from,
    )
    known[id(container)] = exits
    return exits


def _after_exit(container: cst.CSTNode, child: cst.CSTNode, known: dict[int, _BlockExits]) -> bool:
    """Whether a statement before `child` in its block always leaves it (`continue`, `break`,
    `return`, `raise`): `child` never runs."""
    exits = _exits_of(container, known)
    position = exits.index.get(id(child))
    return position is not None and position > exits.first_exit


def _scan_following(
    container: cst.CSTNode,
    child: cst.CSTNode,
    returns: bool,
    breaks: bool,
    known: dict[int, _BlockExits],
) -> tuple[bool, bool]:
    """Look at `child` and the statements after it in its block for an unconditional exit:
    `return client.get_run(rid)` ends the loop as surely as a `return` on the next line."""
    exits = _exits_of(container, known)
    position = exits.index.get(id(child))
    if position is None:
        return returns, breaks
    return returns or exits.returns_from[position], breaks or exits.breaks_from[position]


def _small_statements(statement: cst.CSTNode) -> Sequence[cst.CSTNode]:
    if type(statement) is cst.SimpleStatementLine or type(statement) is cst.SimpleStatementSuite:
        return statement.body
    return (statement,)


def uses_names(node: cst.CSTNode, names: Iterable[str], skip: Optional[cst.CSTNode] = None) -> bool:
    """Whether any of `names` occurs in `node` (outside `skip`)."""
    wanted = set(names)
    todo: list[cst.CSTNode] = [node]
    while todo:
        current = todo.pop()
        if current is skip:
            continue
        if type(current) is cst.Name:
            if current.value in wanted:
                return True
        elif type(current) is cst.Attribute or type(current) is cst.Arg:
            # `x.step` reads x, and `f(step=1)` has a keyword: neither is a name `step`
            todo.append(current.value)
        else:
            todo.extend(iter_children(current))
    return False


_IMPROVEMENT_WORDS = frozenset({"best", "improved", "improvement", "improves"})


def is_improvement(test: cst.BaseExpression) -> bool:
    """`if val_acc > self.best_acc:`, `if loss < best_loss`, `if is_best:`: the body runs
    when a result beats the best so far (an early-stopping check, a checkpoint of the best
    model), a few times over a training, not on each step. A flag alone counts when its
    name says a new best (`is_best`, `new_best`, `improved`), not a setting (`save_best`).
    Also such a test joined by `and` to any other, or by `or` to a test that holds once
    (`if epoch == 1 or val_f1 >= best_f1:`, `if best is None or loss < best:`: the first
    result is the best so far)."""
    if type(test) is cst.BooleanOperation:
        sides = (test.left, test.right)
        if type(test.operator) is cst.And:
            return any(is_improvement(side) for side in sides)
        return any(is_improvement(side) for side in sides) and all(
            is_improvement(side) or _holds_once(side) for side in sides
        )
    if type(test) is cst.Comparison and len(test.comparisons) == 1:
        if not isinstance(
            test.comparisons[0].operator,
            (cst.LessThan, cst.GreaterThan, cst.LessThanEqual, cst.GreaterThanEqual),
        ):
            return False
        return any(
            not _IMPROVEMENT_WORDS.isdisjoint(_spelled_words(side))
            for side in (test.left, test.comparisons[0].comparator)
        )
    if type(test) is cst.Name or type(test) is cst.Attribute:
        named = _spelled_words(test)
        return bool({"improved", "improves", "improvement"} & named) or (
            "best" in named and bool({"is", "new"} & named)
        )
    return False


def _holds_once(test: cst.BaseExpression) -> bool:
    """`epoch == 1`, `step == 0`, `best is None`: true for one value, the first one."""
    if type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return False
    operator, other = test.comparisons[0].operator, test.comparisons[0].comparator
    if type(operator) is cst.Equal:
        return type(other) is cst.Integer or type(test.left) is cst.Integer
    return type(operator) is cst.Is and type(other) is cst.Name and other.value == "None"


def _spelled_words(node: cst.BaseExpression) -> set[str]:
    """The words of a name or an attribute chain (`self.best_acc`: self, best, acc)."""
    found: set[str] = set()
    while type(node) is cst.Attribute:
        found.update(words(node.attr.value))
        node = node.value
    if type(node) is cst.Name:
        found.update(words(node.value))
    return found


def _is_throttle(test: cst.BaseExpression) -> bool:
    """`if step % 100 == 0`, `if len(buffer) >= 1000`, `if time.monotonic() - last > 5`: the
    body runs every N iterations or seconds, not on each one."""
    todo: list[cst.CSTNode] = [test]
    while todo:
        node = todo.pop()
        if type(node) is cst.BinaryOperation and type(node.operator) is cst.Modulo:
            return True
        if type(node) is cst.Call:
            func = node.func
            if type(func) is cst.Name and func.value == "len":
                return True
            if type(func) is cst.Attribute and func.attr.value in (
                "monotonic",
                "time",
                "perf_counter",
            ):
                return True
        todo.extend(iter_children(node))
    return False


# Methods that change their receiver in place: a loop calling one changes what it reads.
_MUTATORS = frozenset(
    {
        "pop",
        "popleft",
        "popitem",
        "append",
        "appendleft",
        "extend",
        "insert",
        "remove",
        "clear",
        "update",
        "add",
        "discard",
        "setdefault",
        "put",
        "put_nowait",
        "get_nowait",
    }
)
# Builtins whose result depends only on their arguments.
_PURE = frozenset({"str", "int", "float", "bool", "len", "repr", "tuple", "frozenset", "abs"})
_SLEEPS = frozenset({"sleep"})
_WAITS = frozenset({"wait", "wait_for"})
_INPUTS = frozenset({"input", "getpass"})
_PROMPTS = frozenset({"prompt", "confirm"})  # click, typer, prompt_toolkit
_PROMPT_CLASSES = frozenset({"Prompt", "Confirm", "IntPrompt", "FloatPrompt"})  # rich
# Calls that run a child process and wait for it: `subprocess.run(...)`, `os.system(...)`
# (words, not API names: `mlflow.run` is not one of them).
_PROCESS_RUN_WORDS = {
    "subprocess": frozenset({"run", "call", "check_call", "check_output"}),
    "os": frozenset({"system"}),
}
_PROCESS_WAITS = frozenset({"communicate", "check_call", "check_output"})
# Every name _waits() looks for, as a pattern: a file without any has no waiting call.
_WAIT_WORDS = re.compile(
    "|".join(
        sorted(
            _SLEEPS
            | _WAITS
            | _INPUTS
            | _PROMPTS
            | _PROCESS_WAITS
            | {"getpass", "timeout", "ask", "subprocess", "system"}
        )
    )
)
_CHUNKERS = frozenset({"batched", "array_split", "grouper", "split_every"})


# words, not API names (tests/test_elision.py reads `mlflow.run` into a "run" constant)
_RUN_WORDS = frozenset({"run", "runs"})


def _named_for_run(node: cst.BaseExpression) -> bool:
    """`run_context`, `tracker.start_run`, `plugins["MLFlowPlugin"]`: the last name, or the
    string key, has the word "run" or says MLflow."""
    name: Union[str, bytes, None] = None
    if type(node) is cst.Subscript and len(node.slice) == 1:
        index = node.slice[0].slice
        if type(index) is cst.Index and type(index.value) is cst.SimpleString:
            name = index.value.evaluated_value
        else:
            node = node.value
    if type(node) is cst.Attribute:
        name = node.attr.value
    elif type(node) is cst.Name:
        name = node.value
    if not isinstance(name, str):
        return False
    return not _RUN_WORDS.isdisjoint(words(name)) or "mlflow" in name.lower()


# The branching statements around a node, each with the branch it is in: (id of the `if`,
# `try` or `match`, the branch's number).
Branches = tuple[tuple[int, int], ...]


def exclusive(first: Branches, second: Branches) -> bool:
    """Whether two nodes sit in different branches of one statement: never both in one pass."""
    taken = dict(first)
    return any(node in taken and taken[node] != branch for node, branch in second)


def bound_spellings(root: cst.CSTNode) -> Iterator[str]:
    """The spelling of each name or attribute chain `root`'s own code binds (nested
    definitions left out): assignment targets (augmented, annotated, walrus), `for` targets
    and `as` names (`with`, `except`, imports), tuples and starred targets unpacked."""
    todo: list[cst.CSTNode] = [root]
    while todo:
        node = todo.pop()
        if node is not root and type(node) in _SCOPE_KINDS:
            continue
        targets: list[cst.BaseExpression] = []
        if type(node) is cst.Assign:
            targets = [target.target for target in node.targets]
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For)):
            targets = [node.target]
        elif type(node) is cst.AsName and isinstance(node.name, cst.BaseExpression):
            targets = [node.name]
        while targets:
            target = targets.pop()
            if isinstance(target, (cst.Tuple, cst.List)):
                targets.extend(element.value for element in target.elements)
            elif type(target) is cst.StarredElement:
                targets.append(target.value)
            else:
                spelled = spelling(target)
                if spelled is not None:
                    yield spelled
        todo.extend(iter_children(node))


def spelling(node: Optional[cst.CSTNode]) -> Optional[str]:
    """`token`, `page.token`, `self.state.token`; None for other expressions."""
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        base = spelling(node.value)
        return f"{base}.{node.attr.value}" if base is not None else None
    return None


def _bound_names(target: cst.CSTNode) -> list[str]:
    """What assigning to `target` changes: names, dotted attributes, and the base of a
    subscript (`d[k] = v` changes `d`)."""
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _bound_names(element.value)]
    if type(target) is cst.StarredElement:
        return _bound_names(target.value)
    if type(target) is cst.Subscript:
        return _bound_names(target.value)
    spelled = spelling(target)
    return [spelled] if spelled is not None else []


def _item_spelling(node: cst.CSTNode) -> Optional[str]:
    """`params["start"]` for a subscript of a spelled name under one written-out string key;
    None for anything else."""
    if type(node) is not cst.Subscript or len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if type(index) is not cst.Index or type(index.value) is not cst.SimpleString:
        return None
    key = index.value.evaluated_value  # the same key however it is quoted
    base = spelling(node.value)
    return f"{base}[{key!r}]" if base is not None and isinstance(key, str) else None


def _assignment_targets(node: cst.CSTNode) -> list[cst.CSTNode]:
    if type(node) is cst.Assign:
        return [target.target for target in node.targets]
    if isinstance(node, (cst.AugAssign, cst.NamedExpr, cst.For, cst.CompFor)) or (
        type(node) is cst.AnnAssign and node.value is not None
    ):
        return [node.target]
    if type(node) is cst.With:
        return [item.asname.name for item in node.items if item.asname is not None]
    return []


def loop_nodes(loop: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node an iteration of `loop` may run (a `while` test included, a `for` iterable
    and nested definitions excluded)."""
    if type(loop) is cst.For:
        todo: list[cst.CSTNode] = [loop.body]
    elif type(loop) is cst.While:
        todo = [loop.test, loop.body]
    else:
        todo = [loop]
    while todo:
        current = todo.pop()
        if isinstance(current, _SCOPE_BOUNDARIES):
            continue
        yield current
        todo.extend(iter_children(current))


def contains(root: cst.CSTNode, wanted: cst.CSTNode) -> bool:
    todo = [root]
    while todo:
        current = todo.pop()
        if current is wanted:
            return True
        todo.extend(iter_children(current))
    return False


def _waits(call: cst.Call) -> bool:
    """`time.sleep(1)`, `asyncio.sleep(1)`, `stop.wait(5)`, `cond.wait()`,
    `queue.get(timeout=1)`, `input()`, `click.prompt(...)`, `Prompt.ask(...)`, and a child
    process run to its end: `subprocess.run(...)`, `os.system(...)`, `proc.communicate()`."""
    func = call.func
    # a private alias waits the same: `self._sleep = time.sleep` (injected for tests), `_sleep`
    if type(func) is cst.Name:
        return func.value.strip("_") in _SLEEPS | _INPUTS | _PROMPTS | _PROCESS_WAITS
    if type(func) is not cst.Attribute:
        return False
    name = func.attr.value.strip("_")
    if name in _SLEEPS | _WAITS | _PROMPTS | _PROCESS_WAITS or name == "getpass":
        return True
    if type(func.value) is cst.Name and name in _PROCESS_RUN_WORDS.get(func.value.value, ()):
        return True
    if name == "get":
        return any(arg.keyword is not None and arg.keyword.value == "timeout" for arg in call.args)
    if name == "ask":
        owner = spelling(func.value)
        return owner is not None and owner.rsplit(".", 1)[-1] in _PROMPT_CLASSES
    return False


def _literal_length(iterable: cst.BaseExpression) -> Optional[int]:
    if isinstance(iterable, (cst.List, cst.Tuple, cst.Set)):
        if any(type(element) is cst.StarredElement for element in iterable.elements):
            return None
        return len(iterable.elements)
    if type(iterable) is cst.Dict:
        if any(type(element) is cst.StarredDictElement for element in iterable.elements):
            return None
        return len(iterable.elements)
    if type(iterable) is not cst.Call:
        return None
    func = iterable.func
    if type(func) is cst.Attribute and func.attr.value in ("items", "keys", "values"):
        return _literal_length(func.value) if type(func.value) is cst.Dict else None
    if type(func) is cst.Name and func.value == "enumerate" and iterable.args:
        return _literal_length(iterable.args[0].value)
    return None


def _chunk_range(loop: cst.For) -> bool:
    """`for i in range(0, len(items), n)` whose body slices from `i` (`items[i : i + n]`)."""
    iterable = loop.iter
    if not (
        type(iterable) is cst.Call
        and type(iterable.func) is cst.Name
        and iterable.func.value == "range"
        and len(iterable.args) == 3
        and type(loop.target) is cst.Name
    ):
        return False
    index = loop.target.value
    for current in loop_nodes(loop):
        if type(current) is cst.Slice and current.lower is not None:
            lower = current.lower
            if type(lower) is cst.Name and lower.value == index:
                return True
    return False


def _chunk_iterable(
    iterable: cst.BaseExpression, assigned: dict[str, cst.BaseExpression], depth: int = 0
) -> bool:
    if depth > 3:
        return False
    if type(iterable) is cst.Name:
        value = assigned.get(iterable.value)
        return value is not None and _chunk_iterable(value, {}, depth + 1)
    if type(iterable) is not cst.Call:
        return False
    func = iterable.func
    name = func.attr.value if type(func) is cst.Attribute else getattr(func, "value", "")
    if not isinstance(name, str):
        return False
    if "chunk" in name.lower() or name in _CHUNKERS:
        return True
    if name in ("zip", "zip_longest", "enumerate", "list", "tuple"):
        return any(_chunk_iterable(arg.value, assigned, depth + 1) for arg in iterable.args)
    return False


def _none_test(test: cst.BaseExpression, params: set[str]) -> tuple[Optional[str], Optional[str]]:
    """(the parameter `test` requires to be None, the one it requires to be set): `p is
    None` / `not p` -> (p, None); `p is not None` / `p` -> (None, p); an `and` keeps the
    first; anything else -> (None, None)."""
    if type(test) is cst.BooleanOperation:
        if type(test.operator) is cst.And:
            when_none, _ = _none_test(test.left, params)
            if when_none is None:
                when_none, _ = _none_test(test.right, params)
            return when_none, None
        return None, None
    if type(test) is cst.Name and test.value in params:
        return None, test.value
    if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
        inner = test.expression
        if type(inner) is cst.Name and inner.value in params:
            return inner.value, None
        return None, None
    if (
        type(test) is cst.Comparison
        and len(test.comparisons) == 1
        and type(test.left) is cst.Name
        and test.left.value in params
    ):
        compared = test.comparisons[0]
        if type(compared.comparator) is cst.Name and compared.comparator.value == "None":
            if isinstance(compared.operator, (cst.Is, cst.Equal)):
                return test.left.value, None
            if isinstance(compared.operator, (cst.IsNot, cst.NotEqual)):
                return None, test.left.value
    return None, None


def _passed_params(site: cst.Call, function: cst.FunctionDef) -> set[str]:
    """The parameters of `function` that the call `site` gives a value other than `None`
    (by keyword, or by position; `self.method(...)` fills the parameter after `self`)."""
    positional = [*function.params.posonly_params, *function.params.params]
    if (
        type(site.func) is cst.Attribute
        and positional
        and positional[0].name.value in ("self", "cls")
    ):
        positional = positional[1:]
    passed: set[str] = set()
    for index, arg in enumerate(site.args):
        if arg.star:
            break
        if type(arg.value) is cst.Name and arg.value.value == "None":
            continue
        if arg.keyword is not None:
            passed.add(arg.keyword.value)
        elif index < len(positional):
            passed.add(positional[index].name.value)
    return passed


def parameter_names(function: cst.FunctionDef | cst.Lambda) -> set[str]:
    """Every name a function's parameters bind, `*args` and `**kwargs` included."""
    return {param.name.value for param in _all_params(function.params)}


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    result = [*params.posonly_params, *params.params, *params.kwonly_params]
    if type(params.star_arg) is cst.Param:
        result.append(params.star_arg)
    if params.star_kwarg is not None:
        result.append(params.star_kwarg)
    return result


def unwrapped(iterable: cst.BaseExpression, wrappers: Collection[str]) -> cst.BaseExpression:
    """`iterable` without the calls of `wrappers` around it that hand on their first argument
    (`enumerate(tqdm(loader))` -> `loader` for enumerate and tqdm)."""
    while (
        type(iterable) is cst.Call
        and type(iterable.func) is cst.Name
        and iterable.func.value in wrappers
        and iterable.args
    ):
        iterable = iterable.args[0].value
    return iterable


def code_of_names(node: cst.CSTNode) -> str:
    """The names and attributes `node` spells, dotted (`self.cv` -> "self.cv", `len(folds)`
    -> "len.folds"): enough to read what an expression is named for."""
    parts: list[str] = []
    todo = [node]
    while todo:
        current = todo.pop()
        if type(current) is cst.Name:
            parts.append(current.value)
        elif type(current) is cst.Attribute:
            todo.append(current.attr)
            todo.append(current.value)
            continue
        todo.extend(reversed(list(iter_children(current))))
    return ".".join(parts)


def _target_names(target: cst.BaseExpression) -> list[str]:
    if type(target) is cst.Name:
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _target_names(element.value)]
    if type(target) is cst.StarredElement:
        return _target_names(target.value)
    return []


def _statements(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return suite.body if type(suite) is cst.IndentedBlock else (suite,)  # type: ignore[return-value]


def _is_accessor(node: cst.FunctionDef) -> bool:
    """`@client.setter` / `@client.deleter`: not what the property returns."""
    return any(
        type(d.decorator) is cst.Attribute and d.decorator.attr.value in ("setter", "deleter")
        for d in node.decorators
    )


def _is_staticmethod(node: cst.FunctionDef) -> bool:
    return any(
        type(d.decorator) is cst.Name and d.decorator.value == "staticmethod"
        for d in node.decorators
    )


def _blocks(statement: cst.BaseStatement) -> Iterator[Sequence[cst.BaseStatement]]:
    """Statement lists nested directly in a compound statement (not in def/class)."""
    for name in ("body", "orelse", "finalbody"):
        part = getattr(statement, name, None)
        if part is None:
            continue
        if isinstance(part, (cst.If, cst.Else, cst.Finally)):
            if type(part) is cst.If:
                yield from _blocks(part)
                continue
            part = part.body
        if type(part) is cst.IndentedBlock:
            yield part.body
    for handler in getattr(statement, "handlers", ()):
        if type(handler.body) is cst.IndentedBlock:
            yield handler.body.body
