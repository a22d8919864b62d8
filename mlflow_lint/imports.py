"""Imports a fix needs: reuse what the file imports, else add the statement where isort and
Ruff would put it.

A new import goes into the leading import block of the module (after its docstring and
`from __future__` imports), into its section (standard library, third party, then the
file's own relative imports), at its sorted place (`import x` statements before `from x
import y` ones, each by module name, as isort and Ruff sort by default). In a notebook it goes
into the cell that the fix changes, so that re-running that cell alone works.

A name the file already uses for something else is never rebound: the import takes an alias
(`import time as _time`), and when that is taken too, the fix is not offered.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional, Union

import libcst as cst

from mlflow_lint.context import FileContext
from mlflow_lint.names import dotted_name
from mlflow_lint.rule import NodeEdit

# Python 3.9 has no sys.stdlib_module_names; fixes only ever add `time` from the stdlib.
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"time", "os", "sys", "typing"}
_FUTURE, _STANDARD, _THIRD_PARTY, _LOCAL = range(4)
ImportStatement = Union[cst.Import, cst.ImportFrom]


@dataclass(frozen=True)
class Wanted:
    """`import module` (name None) or `from module import name`."""

    module: str
    name: Optional[str] = None

    @property
    def bound(self) -> str:
        return self.name or self.module.split(".", 1)[0]

    def statement(self, alias: Optional[str]) -> str:
        tail = f" as {alias}" if alias else ""
        if self.name is None:
            return f"import {self.module}{tail}"
        return f"from {self.module} import {self.name}{tail}"


@dataclass
class Plan:
    spellings: dict[Wanted, str]  # how the fix spells each wanted name
    edits: list[NodeEdit]  # what adds the missing imports (none when all were there)


def plan(
    ctx: FileContext,
    wanted: Sequence[Wanted],
    statement: cst.CSTNode,
    function: Optional[cst.FunctionDef] = None,
) -> Optional[Plan]:
    """How the fix of `statement` (a top-level statement of the module, the one the fix
    edits; inside `function`, when it is in one) spells each of `wanted`, and the edits that
    add the imports it lacks; None when a name cannot be bound without shadowing one the file
    uses.

    Where mlflow is an optional dependency (no unconditional `import mlflow` at the top of
    the module: imported inside functions, or under `try: ... except ImportError`), an
    import from mlflow goes at the top of the function the fix changes, never at module
    level, where it would break importing the module without mlflow."""
    local = [w for w in wanted if w.module.split(".", 1)[0] == "mlflow"]
    if function is not None and local and not _imports_mlflow_at_top(ctx.module):
        rest = [w for w in wanted if w not in local]
        inner = _plan_in_function(ctx, local, function)
        outer = plan(ctx, rest, statement) if rest else Plan({}, [])
        if inner is None or outer is None:
            return None
        return Plan({**outer.spellings, **inner.spellings}, [*outer.edits, *inner.edits])
    body = _segment(ctx, statement)
    existing = _imported(body)
    spellings: dict[Wanted, str] = {}
    missing: list[tuple[Wanted, Optional[str]]] = []
    for want in wanted:
        if want in existing and not _rebound(ctx, existing[want]):
            spellings[want] = existing[want]
            continue
        alias = None
        same_import_elsewhere = _imported(ctx.module.body).get(want) == want.bound
        if ctx.module_uses_names([want.bound]) and not same_import_elsewhere:
            alias = "_" + want.bound if want.name is None else "Mlflow" + want.bound
            if ctx.module_uses_names([alias]):
                return None
        spellings[want] = alias or want.bound
        missing.append((want, alias))
    return Plan(spellings, _insertions(ctx, body, missing))


def _imports_mlflow_at_top(module: cst.Module) -> bool:
    """Whether the module imports mlflow unconditionally, at its top level."""
    for statement in module.body:
        for small in _small_imports(statement):
            if isinstance(small, cst.Import):
                names = [dotted_name(alias.name) or "" for alias in small.names]
            else:
                names = (
                    [dotted_name(small.module) or ""] if small.module and not small.relative else []
                )
            if any(name == "mlflow" or name.startswith("mlflow.") for name in names):
                return True
    return False


def _plan_in_function(
    ctx: FileContext, wanted: Sequence[Wanted], function: cst.FunctionDef
) -> Optional[Plan]:
    """Imports at the top of `function`'s body (after its docstring), reusing what it imports."""
    body = list(function.body.body) if isinstance(function.body, cst.IndentedBlock) else []
    if not body:
        return None
    existing = _imported(body)
    spellings: dict[Wanted, str] = {}
    lines = []
    for want in wanted:
        if want in existing:
            spellings[want] = existing[want]
            continue
        alias = None
        if ctx.module_uses_names([want.bound]):
            alias = "Mlflow" + want.bound if want.name else "_" + want.bound
            if ctx.module_uses_names([alias]):
                return None
        spellings[want] = alias or want.bound
        lines.append(want.statement(alias))
    if not lines:
        return Plan(spellings, [])
    first = 1 if len(body) > 1 and _is_docstring(body[0]) else 0
    anchor = _first_small(body[first])
    content = "".join(f"{line}\n" for line in lines)
    return Plan(spellings, [NodeEdit(anchor, anchor, content, insert=True)])


def _segment(ctx: FileContext, statement: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """The top-level statements run together with `statement`: the module's, or in a
    notebook the cell's (cells are joined by boundary statements, see notebook.py)."""
    body = ctx.module.body
    if ctx.boundary is None:
        return body
    start = 0
    for index, node in enumerate(body):
        if _is_boundary(node, ctx.boundary):
            start = index + 1
        elif node is statement:
            break
    end = start
    while end < len(body) and not _is_boundary(body[end], ctx.boundary):
        end += 1
    return body[start:end]


def _is_boundary(node: cst.CSTNode, marker: str) -> bool:
    return (
        isinstance(node, cst.SimpleStatementLine)
        and node.trailing_whitespace.comment is not None
        and node.trailing_whitespace.comment.value == marker
    )


def _imported(body: Sequence[cst.CSTNode]) -> dict[Wanted, str]:
    """What the segment's top-level import statements bind: `import time` -> "time"."""
    found: dict[Wanted, str] = {}
    for statement in body:
        for small in _small_imports(statement):
            if isinstance(small, cst.Import):
                for alias in small.names:
                    module = dotted_name(alias.name) or ""
                    if alias.asname is None and "." not in module:
                        found.setdefault(Wanted(module), module)
                    elif alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        found.setdefault(Wanted(module), alias.asname.name.value)
            elif small.module is not None and not small.relative:
                module = dotted_name(small.module) or ""
                if isinstance(small.names, cst.ImportStar):
                    continue
                for alias in small.names:
                    name = alias.name.value if isinstance(alias.name, cst.Name) else None
                    if name is None:
                        continue
                    bound = name
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        bound = alias.asname.name.value
                    found.setdefault(Wanted(module, name), bound)
    return found


def _rebound(ctx: FileContext, name: str) -> bool:
    """Whether the module rebinds an imported name to something else (`time = 3`)."""
    rebound: bool = ctx.memo(f"imports.rebound:{name}", lambda: _assigns(ctx.module, name))
    return rebound


def _assigns(module: cst.Module, name: str) -> bool:
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            if statement.name.value == name:
                return True
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets: list[cst.BaseExpression] = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets = [small.target]
                if any(isinstance(t, cst.Name) and t.value == name for t in targets):
                    return True
    return False


def _small_imports(statement: cst.CSTNode) -> list[ImportStatement]:
    if not isinstance(statement, cst.SimpleStatementLine):
        return []
    return [s for s in statement.body if isinstance(s, (cst.Import, cst.ImportFrom))]


def _section(small: ImportStatement) -> int:
    if isinstance(small, cst.ImportFrom):
        if small.relative:
            return _LOCAL
        module = dotted_name(small.module) if small.module is not None else None
    else:
        module = dotted_name(small.names[0].name) if small.names else None
    top = (module or "").split(".", 1)[0]
    if top == "__future__":
        return _FUTURE
    return _STANDARD if top in _STDLIB else _THIRD_PARTY


def _sort_key(small: ImportStatement) -> tuple[bool, str]:
    if isinstance(small, cst.ImportFrom):
        module = dotted_name(small.module) if small.module is not None else ""
        return True, "." * len(small.relative) + (module or "").lower()
    return False, (dotted_name(small.names[0].name) or "").lower() if small.names else ""


def _insertions(
    ctx: FileContext, body: Sequence[cst.CSTNode], missing: list[tuple[Wanted, Optional[str]]]
) -> list[NodeEdit]:
    """One edit per anchor statement, adding the missing imports next to it."""
    if not missing:
        return []
    start = 0
    if body and body is ctx.module.body and _is_docstring(body[0]):
        start = 1
    block: list[ImportStatement] = []  # the leading import block, in order
    end = start
    for statement in body[start:]:
        smalls = _small_imports(statement)
        if not smalls or len(smalls) != len(getattr(statement, "body", ())):
            break
        block.extend(smalls)
        end += 1
    first_after_block = body[end] if end < len(body) else None
    before: dict[int, tuple[cst.CSTNode, list[str]]] = {}
    after: dict[int, tuple[cst.CSTNode, list[str]]] = {}
    extended: list[NodeEdit] = []
    for module, names, text in _statements_for(missing):
        existing = next((s for s in block if names and _from_module(s) == module), None)
        if existing is not None:  # `from mlflow.entities import Param` + Metric
            assert isinstance(existing, cst.ImportFrom)
            extended.append(NodeEdit(existing, existing, _extended(ctx, existing, names)))
            continue
        section = _STANDARD if module.split(".", 1)[0] in _STDLIB else _THIRD_PARTY
        key = (bool(names), module.lower())
        same = [s for s in block if _section(s) == section]
        later = next((s for s in same if _sort_key(s) > key), None)
        if later is not None:
            before.setdefault(id(later), (later, []))[1].append(text)
        elif same and not _has_comment(ctx, same[-1]):
            after.setdefault(id(same[-1]), (same[-1], []))[1].append(text)
        else:
            following = next((s for s in block if _section(s) > section), None)
            if following is not None:
                gap = "\n" if not same else ""
                entry = before.setdefault(id(following), (following, []))[1]
                entry.append(text + gap)
            elif block and not _has_comment(ctx, block[-1]):
                entry = after.setdefault(id(block[-1]), (block[-1], []))[1]
                entry.append(("\n" if _section(block[-1]) != section else "") + text)
            elif first_after_block is not None:
                anchor = _first_small(first_after_block)
                before.setdefault(id(anchor), (anchor, []))[1].append(text + "\n")
    edits = []
    for node, lines in before.values():
        edits.append(NodeEdit(node, node, "".join(f"{line}\n" for line in lines), insert=True))
    for node, lines in after.values():
        edits.append(NodeEdit(node, node, "\n".join([_code(ctx, node), *lines])))
    return edits + extended


def _statements_for(
    missing: list[tuple[Wanted, Optional[str]]],
) -> list[tuple[str, list[str], str]]:
    """(module, the names a from-import binds as written, the statement), sorted as isort
    sorts them: `import x` before `from x import y`, by module; names of one module together."""
    plain: list[tuple[str, list[str], str]] = [
        (w.module, [], w.statement(alias)) for w, alias in missing if w.name is None
    ]
    grouped: dict[str, list[str]] = {}
    for want, alias in missing:
        if want.name is not None:
            written = f"{want.name} as {alias}" if alias else want.name
            grouped.setdefault(want.module, []).append(written)
    froms = [
        (module, names, f"from {module} import {', '.join(_sorted_names(names))}")
        for module, names in grouped.items()
    ]
    return sorted(plain) + sorted(froms)


def _sorted_names(names: Sequence[str]) -> list[str]:
    """isort's and Ruff's default order: CONSTANTS, Classes, then the rest, each a to z."""

    def key(written: str) -> tuple[int, str]:
        name = written.split(" as ", 1)[0]
        kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
        return kind, name.lower()

    return sorted(names, key=key)


def _from_module(small: ImportStatement) -> Optional[str]:
    if not isinstance(small, cst.ImportFrom) or small.relative or small.module is None:
        return None
    if isinstance(small.names, cst.ImportStar):
        return None
    return dotted_name(small.module)


def _extended(ctx: FileContext, statement: cst.ImportFrom, names: list[str]) -> str:
    """The from-import with `names` added, in order, on one line when it fits."""
    assert not isinstance(statement.names, cst.ImportStar)
    written = [
        ctx.code(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)).strip()
        for alias in statement.names
    ]
    merged = _sorted_names([*written, *names])
    head = f"from {dotted_name(statement.module) if statement.module else ''} import "
    line = head + ", ".join(merged)
    if len(line) <= 88:
        return line
    return head + "(\n" + "".join(f"    {name},\n" for name in merged) + ")"


def _code(ctx: FileContext, node: cst.CSTNode) -> str:
    """A statement's code without the comment lines above it (its range starts below them)."""
    if isinstance(node, cst.BaseCompoundStatement):
        node = node.with_changes(leading_lines=())
    return ctx.code(node)


def _first_small(statement: cst.CSTNode) -> cst.CSTNode:
    """The statement an insertion goes before: the first small statement of a line (whose
    range starts after the comment lines above it), or the compound statement itself: its
    first decorator, when it has one (a definition's range starts at `def` or `class`)."""
    if isinstance(statement, cst.SimpleStatementLine):
        return statement.body[0]
    decorators = getattr(statement, "decorators", ())
    return decorators[0] if decorators else statement


def _has_comment(ctx: FileContext, small: ImportStatement) -> bool:
    """Whether the line of an import ends in a comment (an insertion after it would take
    the comment to the new line)."""
    for statement in ctx.module.body:
        if isinstance(statement, cst.SimpleStatementLine) and small in statement.body:
            return statement.trailing_whitespace.comment is not None
    return False


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
