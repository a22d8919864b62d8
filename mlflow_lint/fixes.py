"""Helpers rules use to build fixes: argument binding, expression purity, callee spelling, code.

A safe fix must not change what gets logged or the order in which things are evaluated, so
rules merge calls only when every moved expression is free of side effects (no calls other
than well-known pure conversions), and always emit keyword arguments (the fluent and client
positional orders differ; see mlflow_api)."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Optional, TypeVar

import libcst as cst

from mlflow_lint import mlflow_api as api
from mlflow_lint.context import NODE_TYPES, FileContext, LoopFrame, iter_children
from mlflow_lint.context import uses_names as uses_names  # re-exported: rules use fixes.uses_names
from mlflow_lint.sourcefile import indent_following_lines as indent_following_lines

# Calls that only convert or read a value: `float(x)`, `loss.item()`, `acc.mean()`.
_PURE_FUNCTIONS = frozenset(
    {"float", "int", "str", "bool", "round", "abs", "len", "min", "max", "sum"}
)
_PURE_METHODS = frozenset(
    {"item", "mean", "sum", "min", "max", "detach", "cpu", "numpy", "tolist", "get", "std"}
)
LINE_LENGTH = 88
INDENT = "    "


def bind_arguments(
    call: cst.Call, signature: Optional[api.Signature]
) -> Optional[dict[str, cst.Arg]]:
    """Parameter name -> argument, or None when `*args`/`**kwargs` make binding uncertain."""
    if signature is None:
        return None
    bound: dict[str, cst.Arg] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is not None:
            name = arg.keyword.value
        elif index < len(signature.params):
            name = signature.params[index]
        else:
            return None
        if name in bound:
            return None
        bound[name] = arg
    return bound


def is_pure(node: cst.CSTNode) -> bool:
    """No side effects and no calls except pure conversions: safe to evaluate earlier or later
    relative to other such expressions."""
    todo: list[cst.CSTNode] = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, (cst.Await, cst.Yield, cst.NamedExpr, cst.Lambda)):
            return False
        if type(current) is cst.Call and not _is_pure_call(current.func):
            return False
        todo.extend(iter_children(current))
    return True


def has_comment(node: cst.CSTNode) -> bool:
    """Whether a comment sits anywhere inside `node` (leading lines included): a fix that
    rebuilds the code from parts of it would lose the comment."""
    # every field, whitespace included (where comments live); not `node.children`, which
    # rebuilds the subtree with a visitor (a tenth of a dense file's analysis)
    todo: list[cst.CSTNode] = [node]
    while todo:
        current = todo.pop()
        if type(current) is cst.Comment:
            return True
        for name in _all_fields(type(current)):
            value = getattr(current, name)
            if type(value) in NODE_TYPES:
                todo.append(value)
            elif type(value) is tuple or type(value) is list:
                todo.extend(item for item in value if type(item) in NODE_TYPES)
    return False


def comments_in(node: cst.CSTNode) -> list[cst.Comment]:
    """The comments inside `node` (leading lines included), in source order."""
    if not has_comment(node):
        return []  # the common case, without `node.children` (a visitor per node)
    found: list[cst.Comment] = []
    todo: list[cst.CSTNode] = [node]
    while todo:
        current = todo.pop()
        if type(current) is cst.Comment:
            found.append(current)
        todo.extend(reversed(current.children))
    return found


_MAYBE_NONE = (cst.Name, cst.Attribute, cst.Subscript, cst.Call)


def step_or_zero(
    ctx: FileContext, step: cst.BaseExpression, loops: Optional[Sequence[cst.CSTNode]] = None
) -> str:
    """A step as MLflow stores it: `log_metric` takes `None` for 0, a `Metric` needs a number.
    A literal or arithmetic cannot be None, nor a counter of one of the `loops` around the
    call (by default the ancestors); a name, attribute or call might: `s or 0` (the same
    stored step for every value a step can take: `0`, `0.0` and `False` are step 0)."""
    code = ctx.code(step)
    around = ctx.ancestors if loops is None else loops
    if isinstance(step, _MAYBE_NONE) and not _loop_counter(around, step):
        return f"{code} or 0"
    return code


def _loop_counter(loops: Sequence[cst.CSTNode], step: cst.BaseExpression) -> bool:
    """A name bound by one of `loops`, a `for` over `range(...)`, or as the index of
    `enumerate(...)`."""
    if type(step) is not cst.Name:
        return False
    for node in reversed(loops):
        if type(node) is not cst.For or type(node.iter) is not cst.Call:
            continue
        func = node.iter.func
        if type(func) is not cst.Name:
            continue
        target = node.target
        if func.value == "range" and type(target) is cst.Name:
            if target.value == step.value:
                return True
        elif func.value == "enumerate" and type(target) is cst.Tuple and target.elements:
            first = target.elements[0].value
            if type(first) is cst.Name and first.value == step.value:
                return True
    return False


@cache
def _all_fields(node_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(node_type))


def _is_pure_call(func: cst.BaseExpression) -> bool:
    if type(func) is cst.Name:
        return func.value in _PURE_FUNCTIONS
    return type(func) is cst.Attribute and func.attr.value in _PURE_METHODS


def as_string(ctx: FileContext, value: cst.BaseExpression) -> str:
    """`str(value)` as code, as `log_param` and `set_tag` convert values: a string literal as
    it is, a number or a constant as the string `str()` makes of it (`0.5` -> `"0.5"`)."""
    code = ctx.code(value)
    if literal_string(value) is not None:
        return code
    if isinstance(value, (cst.Integer, cst.Float)) or (
        type(value) is cst.Name and value.value in ("True", "False", "None")
    ):
        try:
            return f'"{ast.literal_eval(code)}"'  # digits, a sign, a dot: no escapes
        except (ValueError, SyntaxError):
            pass
    return f"str({code})"


def literal_string(node: cst.BaseExpression) -> Optional[str]:
    """The value of a plain string literal (no f-string), else None."""
    if type(node) is cst.SimpleString:
        prefix, raw = node.prefix.lower(), node.raw_value
        if "b" in prefix:
            return None
        # without escapes the value is the text between the quotes: no ast.literal_eval (a
        # compile per string, and its closures are garbage the cycle collector must find)
        if prefix in ("", "u", "r") and "\r" not in raw and ("\\" not in raw or prefix == "r"):
            return raw
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def target_names(target: cst.BaseExpression) -> list[str]:
    """Names bound by a for-loop target."""
    if type(target) is cst.Name:
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for element in target.elements for n in target_names(element.value)]
    if type(target) is cst.StarredElement:
        return target_names(target.value)
    return []


# the statements and expressions that bind names, by the field holding their target(s)
_BINDERS: dict[type, str] = {
    cst.Assign: "targets",
    cst.AnnAssign: "target",
    cst.AugAssign: "target",
    cst.For: "target",
    cst.NamedExpr: "target",
    cst.WithItem: "asname",
}


def loop_bound_names(loop: cst.CSTNode) -> frozenset[str]:
    """Names that may change with each iteration of a loop: its target, and every name
    assigned (or attribute set) in its body (`for r in runs: rid = r.info.run_id`)."""
    known = _loop_bound.get(id(loop))
    if known is not None and known[0] is loop:
        return known[1]
    names: set[str] = set(target_names(loop.target)) if type(loop) is cst.For else set()
    body = getattr(loop, "body", None)
    todo: list[cst.CSTNode] = [body] if body is not None else []
    binders = _BINDERS
    while todo:
        node = todo.pop()
        field = binders.get(type(node))
        if field is not None:
            bound = getattr(node, field)
            targets = [t.target for t in bound] if field == "targets" else [bound]
            for target in targets:  # `AsName` of a `with ... as x:` holds the name in `.name`
                todo_names: list[cst.CSTNode] = [] if target is None else [target]
                while todo_names:
                    current = todo_names.pop()
                    if type(current) is cst.Name:
                        names.add(current.value)
                    todo_names.extend(iter_children(current))
        todo.extend(iter_children(node))
    result = frozenset(names)
    if len(_loop_bound) >= 256:  # rules ask for the loop of the call at hand, one after another
        _loop_bound.clear()
    _loop_bound[id(loop)] = (loop, result)
    return result


_loop_bound: dict[int, tuple[cst.CSTNode, frozenset[str]]] = {}


def loop_target_names(frames: Iterable[LoopFrame]) -> list[str]:
    """Names the `for` loops among `frames` bind on each iteration."""
    return [
        name
        for frame in frames
        if type(frame.loop) is cst.For
        for name in target_names(frame.loop.target)
    ]


_FLUENT_MODULES = ("mlflow", "mlflow.tracking.fluent")


def fluent_callee(ctx: FileContext, call: cst.Call, function: str) -> Optional[str]:
    """How to spell fluent `function` where the walk is now (call this at the call, so only
    names bound by then count): `mlflow.log_params` for `mlflow.log_param`, `mf.log_params`
    for `mf.log_param`; for a bare `log_param`, `log_params` when that name is imported from
    mlflow, else through a name bound to the mlflow module (`mf.log_params`). None when there
    is no way without a new import."""
    resolver = ctx.resolver
    if type(call.func) is cst.Attribute:
        if resolver.resolve(call.func.value) in _FLUENT_MODULES:
            return f"{ctx.code(call.func.value)}.{function}"
        # a function held on an object (`self.log_metric = mlflow.log_metric`): the object
        # has no `log_metrics`, spell it through the module
    elif resolver.lookup(function) == f"mlflow.{function}":
        return function
    for scope in reversed(resolver.scopes):
        for name, value in scope.names.items():
            if value in _FLUENT_MODULES and resolver.lookup(name) == value:
                return f"{name}.{function}"
    return None


def mlflow_module_name(ctx: FileContext) -> Optional[str]:
    """A name bound to the mlflow package where the walk is now (`mlflow`, or its alias)."""
    resolver = ctx.resolver
    for scope in reversed(resolver.scopes):
        for name, value in scope.names.items():
            if value == "mlflow" and resolver.lookup(name) == "mlflow":
                return name
    if resolver.lookup("mlflow") == "mlflow":
        return "mlflow"
    return None


def call_code(callee: str, arguments: Sequence[str], indent: int, force_lines: bool = False) -> str:
    """`callee(a, k=v)` on one line if it fits, else black-style over several lines."""
    one_line = f"{callee}({', '.join(arguments)})"
    if indent + len(one_line) <= LINE_LENGTH and "\n" not in one_line and not force_lines:
        return one_line
    inner = [INDENT + indent_following_lines(argument, INDENT) + "," for argument in arguments]
    return "\n".join([f"{callee}(", *inner, ")"])


def keywords(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{name}={code}" for name, code in pairs]


def dict_code(
    items: Sequence[tuple[str, str]], one_line: bool, comments: Sequence[str] = ()
) -> str:
    """A dict literal of (key code, value code) pairs, on one line or one item per line (each
    followed by its comment, if any)."""
    return _collection_code([f"{k}: {v}" for k, v in items], "{}", one_line, comments)


def list_code(entries: Sequence[tuple[str, str]], one_line: bool = True) -> str:
    """A list literal of (code, comment) entries; one entry per line unless `one_line`."""
    codes = [code for code, _ in entries]
    return _collection_code(codes, "[]", one_line, [comment for _, comment in entries])


def _collection_code(
    codes: Sequence[str], brackets: str, one_line: bool, comments: Sequence[str]
) -> str:
    if one_line and not any(comments):
        return brackets[0] + ", ".join(codes) + brackets[1]
    notes = list(comments) + [""] * (len(codes) - len(comments))
    body = "".join(
        f"\n{INDENT}{indent_following_lines(code, INDENT)},{'  ' + note if note else ''}"
        for code, note in zip(codes, notes)
    )
    return brackets[0] + body + "\n" + brackets[1]


def dict_call_code(
    callee: str,
    items: Sequence[tuple[str, str]],
    rest: Sequence[str],
    indent: int,
    comments: Sequence[str] = (),
) -> str:
    """`callee({k: v, ...}, *rest)`: on one line when it fits and no item has a comment, else
    the dict one item a line, each with its comment."""
    if not any(comments):
        code = call_code(callee, [dict_code(items, one_line=True), *rest], indent)
        if "\n" not in code:
            return code
    return call_code(callee, [dict_code(items, False, comments), *rest], indent)


T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def inside_run_block(ctx: FileContext) -> bool:
    """Whether the walk is lexically inside `with mlflow.start_run(...)` in the same function,
    with no `end_run()` met in that block so far (after one, a fluent call starts a run of
    its own and `mlflow.active_run()` is None)."""
    for node in reversed(ctx.ancestors):
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if type(node) is cst.With and id(node) in ctx.ended_in:
            return False
        if type(node) is cst.With:
            for item in node.items:
                if type(item.item) is cst.Call:
                    found = ctx.api_call(item.item)
                    if found is not None and not found.is_client and found.name == "start_run":
                        return True
    return False


def indent_unit(module: cst.Module, block: Optional[cst.CSTNode]) -> str:
    """One more level of indentation inside `block` (an IndentedBlock, or anything else for
    module level): the block's own unit, so a new block mixes tabs and spaces no more than
    the file does (a file's default unit comes from its first block and may differ)."""
    if type(block) is cst.IndentedBlock and block.indent is not None:
        return block.indent
    return module.default_indent


def enclosing_units(ctx: FileContext) -> dict[int, str]:
    """For each node among the ancestors: the indentation unit of the block that holds it."""
    units: dict[int, str] = {}
    block: Optional[cst.CSTNode] = None
    for node in ctx.ancestors:
        units[id(node)] = indent_unit(ctx.module, block)
        if type(node) is cst.IndentedBlock:
            block = node
    return units


class _NewBlocksIndent(cst.CSTTransformer):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        return (
            updated_node
            if updated_node.indent is not None
            else updated_node.with_changes(indent=self.unit)
        )


def indented(statement: cst.BaseStatement, unit: str) -> cst.BaseStatement:
    """A generated statement whose blocks indent by `unit` instead of the module's default."""
    result = statement.visit(_NewBlocksIndent(unit))
    assert isinstance(result, cst.BaseStatement)
    return result


def current_indent(ctx: FileContext, extra_levels: int = 0) -> int:
    """Columns of indentation where the walk is now (the blocks among the ancestors, plus
    `extra_levels`): used to decide whether generated code fits on one line."""
    depth = sum(1 for a in ctx.ancestors if type(a) is cst.IndentedBlock) + extra_levels
    return depth * len(ctx.module.default_indent)
