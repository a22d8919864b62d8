"""Loops in the user's files, and how many times they ran while making requests.

`FileLoops` maps each line of a file to the loops around it in its own scope (a function's
loops stop at its `def`; a `for` loop's iterable is evaluated outside its body, a `while`
loop's test inside). `Census` counts, for each loop, the iterations during which a tracking
request was made inside it (directly or through a helper) and the times it was entered: at
every request, the values bound to the targets of the `for` loops around each of the user's
frames on the stack are compared with those seen at the previous request. A new value (or a new
caller, or a new iteration of an enclosing loop) starts a new iteration. `while` loops and
comprehensions have no target to read: their entries are counted, their iterations are not.
These counts size the engine's per-iteration estimates (estimate.py) for the run that was
measured.
"""

from __future__ import annotations

import ast
import tokenize
from collections import Counter
from dataclasses import dataclass
from types import FrameType
from typing import Optional, Union

LABEL_MAX = 24  # context.loop_label: a longer name is labelled "for"

AnyFor = Union[ast.For, ast.AsyncFor]
_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


@dataclass(frozen=True)
class Loop:
    line: int
    end_line: int
    label: str  # as context.loop_label names it: the target's first name, "while" or "for"
    targets: tuple[str, ...]  # names a `for` target binds; () for a `while` loop
    parent: Optional[int]  # the line of the loop around it in the same scope

    @property
    def counts_iterations(self) -> bool:
        return bool(self.targets)


def _names(target: ast.expr) -> tuple[str, ...]:
    if isinstance(target, ast.Name):
        return (target.id,)
    if isinstance(target, ast.Starred):
        return _names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return tuple(name for item in target.elts for name in _names(item))
    return ()  # an attribute or subscript target: nothing local to read


class FileLoops:
    def __init__(self, text: str) -> None:
        self.text = text
        self.loops: dict[int, Loop] = {}  # by first line (the first loop on a line wins)
        self._by_line: dict[int, tuple[Loop, ...]] = {}
        self._visit(ast.parse(text), ())

    def enclosing(self, line: int) -> tuple[Loop, ...]:
        """The loops around `line` in its scope, outermost first."""
        return self._by_line.get(line, ())

    def _mark(self, start: int, end: int, loops: tuple[Loop, ...]) -> None:
        for line in range(start, end + 1):
            self._by_line[line] = loops

    @staticmethod
    def _label(node: ast.AST) -> str:
        """As context.loop_label names a loop: the first name its target binds that is not a
        throwaway (`batch_idx` for `for batch_idx, (x, y) in ...`, `row` for `for _, row in
        ...`), "for" when there is none or it is too long."""
        if isinstance(node, ast.While):
            return "while"
        assert isinstance(node, (ast.For, ast.AsyncFor))
        names = [n for n in _names(node.target) if n.strip("_")]
        return names[0] if names and len(names[0]) <= LABEL_MAX else "for"

    def _visit(self, node: ast.AST, loops: tuple[Loop, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _SCOPES):
                self._mark(child.lineno, child.end_lineno or child.lineno, ())
                self._visit(child, ())
            elif isinstance(child, (ast.For, ast.AsyncFor, ast.While)):
                self._visit_loop(child, loops)
            else:
                self._visit(child, loops)

    def _visit_loop(self, node: Union[AnyFor, ast.While], loops: tuple[Loop, ...]) -> None:
        body_start = node.body[0].lineno
        body_end = node.body[-1].end_lineno or node.body[-1].lineno
        is_for = not isinstance(node, ast.While)
        loop = Loop(
            line=node.lineno,
            end_line=node.end_lineno or body_end,
            label=self._label(node),
            targets=_names(node.target) if isinstance(node, (ast.For, ast.AsyncFor)) else (),
            parent=loops[-1].line if loops else None,
        )
        self.loops.setdefault(loop.line, loop)
        inside = (*loops, loop)
        self._mark(body_start if is_for else node.lineno, body_end, inside)
        if isinstance(node, ast.While):
            self._visit(node.test, inside)
        else:
            self._visit(node.target, loops)
            self._visit(node.iter, loops)
        for statement in node.body:
            self._visit_statement(statement, inside)
        for statement in node.orelse:
            self._visit_statement(statement, loops)

    def _visit_statement(self, statement: ast.stmt, loops: tuple[Loop, ...]) -> None:
        if isinstance(statement, _SCOPES):
            self._mark(statement.lineno, statement.end_lineno or statement.lineno, ())
            self._visit(statement, ())
        elif isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            self._visit_loop(statement, loops)
        else:
            self._visit(statement, loops)

    def descendants(self, loop: Loop) -> list[Loop]:
        """The loops inside `loop`, in the same scope, at any depth."""
        found = []
        for other in self.loops.values():
            parent = other.parent
            while parent is not None:
                if parent == loop.line:
                    found.append(other)
                    break
                parent = self.loops[parent].parent if parent in self.loops else None
        return found


def read_loops(path: str) -> Optional[FileLoops]:
    try:
        with tokenize.open(path) as source:
            return FileLoops(source.read())
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
        return None


_SCALARS = (int, float, complex, str, bytes, bool, type(None))


def _fingerprint(value: object) -> object:
    """Equal for the same value bound again in the same iteration; different (as far as can
    be told cheaply) for the next iteration's value."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind, value)
    if kind is tuple:
        return tuple(_fingerprint(item) if type(item) in _SCALARS else id(item) for item in value)  # type: ignore[attr-defined]
    return id(value)


_MISSING = object()


class Census:
    """Iterations (with requests) and entries of every loop around a request's frames."""

    def __init__(self) -> None:
        self._files: dict[str, Optional[FileLoops]] = {}
        self._last: dict[tuple[str, int], tuple[object, object]] = {}
        self.iterations: Counter[tuple[str, int]] = Counter()
        self.entries: Counter[tuple[str, int]] = Counter()

    def file(self, path: str) -> Optional[FileLoops]:
        if path not in self._files:
            self._files[path] = read_loops(path)
        return self._files[path]

    def keys(
        self, frames: list[tuple[FrameType, str]]
    ) -> list[tuple[tuple[str, int], object, object]]:
        """For the user's frames (outermost first, with their paths): each enclosing loop's
        key, with the context it was entered in and the iteration it is in. Reads the frames'
        locals, so it runs in the thread that owns them."""
        found: list[tuple[tuple[str, int], object, object]] = []
        context: tuple[object, ...] = ()
        for frame, path in frames:
            line = frame.f_lineno
            loops = self.file(path)
            enclosing = loops.enclosing(line) if loops is not None else ()
            code = frame.f_code
            if code.co_name.startswith("<") and code.co_name != "<module>":
                enclosing = ()  # a comprehension or lambda: its own scope, no loops of ours
            values: list[object] = []
            if enclosing:
                namespace = frame.f_locals
                for loop in enclosing:
                    entered = (context, tuple(values))
                    values.append(
                        tuple(_fingerprint(namespace.get(n, _MISSING)) for n in loop.targets)
                    )
                    found.append(((path, loop.line), entered, (context, tuple(values))))
            context = (*context, (path, line, tuple(values)))
        return found

    def update(self, keys: list[tuple[tuple[str, int], object, object]]) -> None:
        last = self._last
        for loop, entered, iteration in keys:
            previous = last.get(loop)
            if previous is None or previous[0] != entered:
                self.entries[loop] += 1
                self.iterations[loop] += 1
            elif previous[1] != iteration:
                self.iterations[loop] += 1
            last[loop] = (entered, iteration)
