"""Name resolution for MLflow objects, from imports and simple assignments.

libcst's QualifiedNameProvider costs ~13x a parse, so the engine tracks only what MLflow rules
need: which names are bound to something in the mlflow package, to an `MlflowClient` instance,
or to an `ActiveRun`, and which local names shadow them. Bindings are updated by the engine's
single tree walk (see walk.py); a value is a dotted mlflow path, an instance type from
mlflow_api.INSTANCE_TYPES, or None for "not MLflow".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from mlflow_lint import mlflow_api as api

Value = Optional[str]
LOCAL_PREFIX = "local:"  # values that name a function defined in this file
# Decorators that make a method read as an attribute: `self.client` is what it returns.
_PROPERTY_DECORATORS = frozenset({"property", "cached_property"})
# How functions that import a module by name end, lower-cased without underscores:
# import_module, __import__, lazy_import, try_import, pytest.importorskip, LazyModule.
_IMPORTING_ENDINGS = ("import", "importmodule", "importorskip", "lazymodule", "lazyloader")


@dataclass
class Scope:
    kind: str  # "module" | "class" | "function" | "lambda" | "comprehension"
    names: dict[str, Value] = field(default_factory=dict)
    # names bound by `from mlflow import *` in this scope
    star_from: list[str] = field(default_factory=list)
    # instance attributes: `self.client = MlflowClient()` in a method (class scopes only)
    attrs: dict[str, Value] = field(default_factory=dict)
    self_name: Optional[str] = None  # the first parameter of a method (function scopes only)
    owner: Optional[Scope] = None  # the class scope a method belongs to


def words(name: str) -> list[str]:
    """`on_train_batch_end` -> on, train, batch, end; `finishRun` -> finish, run."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().split("_")


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """`a.b.c` -> "a.b.c"; anything else -> None."""
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name:
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


class Resolver:
    """A stack of scopes and the lookups rules need; driven by the engine's walk."""

    def __init__(self) -> None:
        self.module_scope = Scope("module")
        self.scopes: list[Scope] = [self.module_scope]
        # Final module-level bindings, for code in functions (which runs after the module body).
        self.module_final: dict[str, Value] = {}
        # depth of if/try/loop/... around the statement being bound, per scope
        self.conditional: list[int] = [0]
        # what calling a function defined in this file returns, by its "local:N" value, when
        # that is something of MLflow's (`def get_client(): return MlflowClient(uri)`)
        self.returns: dict[str, Value] = {}

    # --- scopes -----------------------------------------------------------------------------
    def push(self, scope: Scope) -> None:
        self.scopes.append(scope)
        self.conditional.append(0)

    def pop(self) -> Scope:
        self.conditional.pop()
        return self.scopes.pop()

    @property
    def current(self) -> Scope:
        return self.scopes[-1]

    def in_function(self) -> bool:
        return any(s.kind in ("function", "lambda") for s in self.scopes)

    # --- binding ----------------------------------------------------------------------------
    def bind(self, name: str, value: Value, scope: Optional[Scope] = None) -> None:
        scope = scope or self.current
        old = scope.names.get(name)
        # `try: import mlflow / except ImportError: mlflow = None`: keep the MLflow meaning when
        # a conditional statement rebinds the name to something else.
        if value is None and old is not None and self.conditional[-1] > 0:
            return
        scope.names[name] = value

    def bind_import(self, node: cst.Import | cst.ImportFrom, scope: Optional[Scope] = None) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name) or ""
                if alias.asname is not None and type(alias.asname.name) is cst.Name:
                    value = api.canonical(full) if _is_mlflow(full) else None
                    self.bind(alias.asname.name.value, value, scope)
                else:  # `import a.b.c` binds `a`
                    top = full.split(".", 1)[0]
                    self.bind(top, "mlflow" if top == "mlflow" else None, scope)
            return
        module = dotted_name(node.module) if node.module is not None else None
        if node.relative or module is None:
            module = None
        if isinstance(node.names, cst.ImportStar):
            if module is not None and _is_mlflow(module):
                (scope or self.current).star_from.append(module)
            return
        for alias in node.names:
            imported = alias.name.value if type(alias.name) is cst.Name else None
            bound = imported
            if alias.asname is not None and type(alias.asname.name) is cst.Name:
                bound = alias.asname.name.value
            if bound is None:
                continue
            value = None
            if module is not None and imported is not None and _is_mlflow(module):
                value = api.canonical(f"{module}.{imported}")
            self.bind(bound, value, scope)

    def bind_target(self, target: cst.BaseExpression, value: Value) -> None:
        """Bind an assignment target; tuples and starred targets bind to "not MLflow"."""
        if type(target) is cst.Name:
            self.bind(target.value, value)
            if self.current.kind == "class":  # a class attribute is reachable as self.<name>
                self.current.attrs[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.bind_target(element.value, None)
        elif type(target) is cst.StarredElement:
            self.bind_target(target.value, None)
        elif type(target) is cst.Attribute:
            owner = self._self_class(target.value)
            # a later `self.client = None` does not erase what __init__ set
            if owner is not None and (value is not None or target.attr.value not in owner.attrs):
                owner.attrs[target.attr.value] = value

    # --- lookup -----------------------------------------------------------------------------
    def lookup(self, name: str) -> Value:
        crossed_function = False
        innermost = True
        for scope in reversed(self.scopes):
            if scope.kind == "class" and not innermost:
                continue  # class bodies are not visible from their methods
            innermost = False
            if scope.kind == "module" and crossed_function and name in self.module_final:
                return self.module_final[name]
            if name in scope.names:
                return scope.names[name]
            for module in scope.star_from:
                path = api.canonical(f"{module}.{name}")
                if api.api_call_for(path) is not None or path == api.CLIENT_CLASS:
                    return path
            if scope.kind in ("function", "lambda"):
                crossed_function = True
        return None

    def resolve(self, node: cst.BaseExpression) -> Value:
        """What an expression refers to, as far as MLflow is concerned."""
        if type(node) is cst.Name:
            return self.lookup(node.value)
        if type(node) is cst.Attribute:
            owner = self._self_class(node.value)
            if owner is not None:
                return owner.attrs.get(node.attr.value)
            base = self.resolve(node.value)
            if base is None:
                return None
            if base in api.INSTANCE_TYPES:
                return f"{base}.{node.attr.value}"
            if "." in base and base.split(".", 1)[0] in api.INSTANCE_TYPES:
                return None  # attribute of a method, e.g. client.log_metric.__doc__
            return api.canonical(f"{base}.{node.attr.value}")
        if type(node) is cst.Call:
            callee = self.resolve(node.func)
            if callee is not None and callee.startswith(LOCAL_PREFIX):
                return self.returns.get(callee)
            return api.factory_result(callee) or _imported_module(node)
        if type(node) is cst.IfExp:
            return _agreeing(self.resolve(node.body), self.resolve(node.orelse))
        if type(node) is cst.BooleanOperation and type(node.operator) is cst.Or:
            # `client or MlflowClient()`: a parameter that defaults to a new client
            return _agreeing(self.resolve(node.left), self.resolve(node.right))
        return None

    def resolve_annotation(self, annotation: cst.BaseExpression) -> Value:
        """`MlflowClient`, `Optional[MlflowClient]`, `MlflowClient | None` -> "MlflowClient"."""
        candidates: list[cst.BaseExpression] = [annotation]
        while candidates:
            node = candidates.pop()
            if type(node) is cst.Subscript:
                candidates.extend(e.slice.value for e in node.slice if type(e.slice) is cst.Index)
                continue
            if type(node) is cst.BinaryOperation and type(node.operator) is cst.BitOr:
                candidates.extend((node.left, node.right))
                continue
            if type(node) is cst.SimpleString:  # "MlflowClient | None"
                parsed = _parse_string_annotation(node)
                if parsed is not None:
                    candidates.append(parsed)
                continue
            if self.resolve(node) == api.CLIENT_CLASS:
                return api.CLIENT
        return None

    def _self_class(self, node: cst.BaseExpression) -> Optional[Scope]:
        """The class scope when `node` is the `self` of the method being walked."""
        if type(node) is not cst.Name:
            return None
        for scope in reversed(self.scopes):
            if scope.kind == "function":
                if scope.self_name == node.value:
                    return scope.owner
                if node.value in scope.names:
                    return None
        return None


def _agreeing(first: Value, second: Value) -> Value:
    """One of two alternatives' values when the other is unknown (a parameter, `None`) or
    the same: `client or MlflowClient()`, `c if c is not None else MlflowClient()`."""
    if first is None or second is None or first == second:
        return first or second
    return None


def _imported_module(call: cst.Call) -> Value:
    """`importlib.import_module("mlflow")`, `__import__("mlflow")` and lazy-import helpers
    (`lazy_import("mlflow")`, `try_import("mlflow.tracking")`, `LazyLoader("mlflow",
    globals(), "mlflow")`): a call of something whose name says it imports, with an mlflow
    module's name as its last argument."""
    func = call.func
    if type(func) is cst.Name:
        text = func.value
    elif type(func) is cst.Attribute:
        text = func.attr.value
    else:
        return None
    normalized = text.replace("_", "").lower()
    if not normalized.endswith(_IMPORTING_ENDINGS):
        return None
    # the module's name: the only argument, or (TensorFlow's and ludwig's
    # `LazyLoader("mlflow", globals(), "mlflow")`) the last positional one
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    if not positional or len(positional) != len(call.args):
        return None
    argument = positional[-1].value
    if type(argument) is not cst.SimpleString:
        return None
    module = argument.evaluated_value
    if not isinstance(module, str) or not _is_mlflow(module):
        return None
    return api.canonical(module)


def is_property(node: cst.FunctionDef) -> bool:
    """`@property`, `@functools.cached_property`: the method reads as an attribute."""
    for decorator in node.decorators:
        expression = decorator.decorator
        name = dotted_name(expression)
        if name is not None and name.rsplit(".", 1)[-1] in _PROPERTY_DECORATORS:
            return True
    return False


def _is_mlflow(module: str) -> bool:
    return module == "mlflow" or module.startswith("mlflow.")


def _parse_string_annotation(node: cst.SimpleString) -> Optional[cst.BaseExpression]:
    text = node.evaluated_value
    if not isinstance(text, str) or len(text) > 200:
        return None
    try:
        return cst.parse_expression(text.strip())
    except cst.ParserSyntaxError:
        return None
