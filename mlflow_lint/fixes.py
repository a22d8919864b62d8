"""Helpers rules use to build fixes: argument binding, expression purity, callee spelling, code.

A safe fix must not change what gets logged or the order in which things are evaluated, so
rules merge calls only when every moved expression is free of side effects (no calls other
than well-known pure conversions), and always emit keyword arguments (the fluent and client
positional orders differ; see mlflow_api)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Optional

import libcst as cst

from mlflow_lint import mlflow_api as api
from mlflow_lint.context import NODE_TYPES, FileContext, LoopFrame, iter_children
from mlflow_lint.context import uses_names as uses_names  # re-exported: rules use fixes.uses_names
from mlflow_lint.sourcefile import indent_following_lines

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
        if isinstance(current, cst.Call) and not _is_pure_call(current.func):
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


@cache
def _all_fields(node_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(node_type))


def _is_pure_call(func: cst.BaseExpression) -> bool:
    if isinstance(func, cst.Name):
        return func.value in _PURE_FUNCTIONS
    return isinstance(func, cst.Attribute) and func.attr.value in _PURE_METHODS


def literal_string(node: cst.BaseExpression) -> Optional[str]:
    """The value of a plain string literal (no f-string), else None."""
    if isinstance(node, cst.SimpleString):
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
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for element in target.elements for n in target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []


def loop_target_names(frames: Iterable[LoopFrame]) -> list[str]:
    """Names the `for` loops among `frames` bind on each iteration."""
    return [
        name
        for frame in frames
        if isinstance(frame.loop, cst.For)
        for name in target_names(frame.loop.target)
    ]


def fluent_callee(ctx: FileContext, call: cst.Call, function: str) -> Optional[str]:
    """How to spell fluent `function` where the walk is now (call this at the call, so only
    names bound by then count): `mlflow.log_params` for `mlflow.log_param`, `mf.log_params`
    for `mf.log_param`; for a bare `log_param`, `log_params` when that name is imported from
    mlflow, else through a name bound to the mlflow module (`mf.log_params`). None when there
    is no way without a new import."""
    if isinstance(call.func, cst.Attribute):
        return f"{ctx.code(call.func.value)}.{function}"
    resolver = ctx.resolver
    if resolver.lookup(function) == f"mlflow.{function}":
        return function
    for scope in reversed(resolver.scopes):
        for name, value in scope.names.items():
            if value in ("mlflow", "mlflow.tracking.fluent") and resolver.lookup(name) == value:
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


def call_code(callee: str, arguments: Sequence[str], indent: int) -> str:
    """`callee(a, k=v)` on one line if it fits, else black-style over several lines."""
    one_line = f"{callee}({', '.join(arguments)})"
    if indent + len(one_line) <= LINE_LENGTH and "\n" not in one_line:
        return one_line
    inner = [INDENT + indent_following_lines(argument, INDENT) + "," for argument in arguments]
    return "\n".join([f"{callee}(", *inner, ")"])


def keywords(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{name}={code}" for name, code in pairs]


def dict_code(items: Sequence[tuple[str, str]], one_line: bool) -> str:
    """A dict literal of (key code, value code) pairs, on one line or one item per line."""
    if one_line:
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    body = "".join(f"\n{INDENT}{indent_following_lines(f'{k}: {v}', INDENT)}," for k, v in items)
    return "{" + body + "\n}"


def dict_call_code(
    callee: str, items: Sequence[tuple[str, str]], rest: Sequence[str], indent: int
) -> str:
    """`callee({k: v, ...}, *rest)`: on one line when it fits, else the dict one item a line."""
    code = call_code(callee, [dict_code(items, one_line=True), *rest], indent)
    if "\n" not in code:
        return code
    return call_code(callee, [dict_code(items, one_line=False), *rest], indent)


def chunks(items: Sequence[tuple[str, str]], size: int) -> list[Sequence[tuple[str, str]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def inside_run_block(ctx: FileContext) -> bool:
    """Whether the walk is lexically inside `with mlflow.start_run(...)` in the same function."""
    for node in reversed(ctx.ancestors):
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(node, cst.With):
            for item in node.items:
                if isinstance(item.item, cst.Call):
                    found = ctx.api_call(item.item)
                    if found is not None and not found.is_client and found.name == "start_run":
                        return True
    return False


def indent_unit(module: cst.Module, block: Optional[cst.CSTNode]) -> str:
    """One more level of indentation inside `block` (an IndentedBlock, or anything else for
    module level): the block's own unit, so a new block mixes tabs and spaces no more than
    the file does (a file's default unit comes from its first block and may differ)."""
    if isinstance(block, cst.IndentedBlock) and block.indent is not None:
        return block.indent
    return module.default_indent


def enclosing_units(ctx: FileContext) -> dict[int, str]:
    """For each node among the ancestors: the indentation unit of the block that holds it."""
    units: dict[int, str] = {}
    block: Optional[cst.CSTNode] = None
    for node in ctx.ancestors:
        units[id(node)] = indent_unit(ctx.module, block)
        if isinstance(node, cst.IndentedBlock):
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
    depth = sum(1 for a in ctx.ancestors if isinstance(a, cst.IndentedBlock)) + extra_levels
    return depth * len(ctx.module.default_indent)
