"""Where the nodes a finding names are in the file, at a cost proportional to the findings.

libcst knows a node's position only by generating the code of everything before it: its
`PositionProvider` generates the whole module (and walks it once more, for metadata it does not
need here). This module generates only the innermost statement that holds a node, starting at
the line where CPython's ast says that statement starts, with the indentation of the blocks
around it, so a finding costs the code of one statement (usually one line), whatever the size
of the file. It needs:

- the statement lines of the ast (`Skeleton`), taken before the ast is freed: every statement's
  first line and its blocks, nothing else (one tuple per statement);
- the chain of ancestors the walk had when the finding was reported: the statements that may
  hold its nodes, innermost first. A node that none of them holds (a report made after the
  walk, an edit somewhere else) is searched for among the top-level statements; when anything
  does not line up, the whole module is generated as libcst does it.

Positions are (start line, start column, end line, end column), lines 1-based, columns 0-based,
exactly as libcst's `PositionProvider` gives them (the elision check compares the two on every
corpus file).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Optional

import libcst as cst
from libcst._nodes.internal import CodegenState

from mlflow_lint.context import iter_children

Position = tuple[int, int, int, int]
# A statement of the ast: its first line (the `def` line for a definition: the one its
# decorators do not move) and its blocks in the order _cst_blocks gives libcst's.
Entry = tuple[int, tuple[tuple["Entry", ...], ...]]
Skeleton = tuple[Entry, ...]  # the module's statements

_NEWLINE = re.compile(r"\r\n?|\n")


# --- the ast's statements ---------------------------------------------------------------------
def skeleton(tree: ast.Module) -> Skeleton:
    """Every statement's first line and blocks (cheap: statements only, not expressions)."""
    return _entries(tree.body)


def _entries(statements: Sequence[ast.stmt]) -> tuple[Entry, ...]:
    return tuple((s.lineno, tuple(_entries(b) for b in _ast_blocks(s))) for s in statements)


def _ast_blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(statement, (ast.If, ast.For, ast.AsyncFor, ast.While)):
        return [statement.body, statement.orelse]
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.body]
    if isinstance(statement, (ast.With, ast.AsyncWith)):
        return [statement.body]
    if isinstance(statement, _AST_TRIES):
        handlers = [h.body for h in statement.handlers]  # type: ignore[attr-defined]
        return [statement.body, *handlers, statement.orelse, statement.finalbody]  # type: ignore[attr-defined]
    if _AST_MATCH is not None and isinstance(statement, _AST_MATCH):
        return [case.body for case in statement.cases]  # type: ignore[attr-defined]
    return []


_AST_TRIES: tuple[type, ...] = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_AST_MATCH: Optional[type] = getattr(ast, "Match", None)


def _cst_blocks(statement: cst.BaseStatement) -> list[Optional[Sequence[cst.BaseStatement]]]:
    """The statement lists of a compound statement, in the order of _ast_blocks; None for a
    block on the header's line (`if x: a; b`), which holds small statements only."""
    if isinstance(statement, (cst.If, cst.For, cst.While)):
        orelse = statement.orelse
        tail: Optional[Sequence[cst.BaseStatement]] = ()
        if type(orelse) is cst.If:  # elif
            tail = (orelse,)
        elif orelse is not None:
            tail = _statements(orelse.body)
        return [_statements(statement.body), tail]
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef, cst.With)):
        return [_statements(statement.body)]
    if isinstance(statement, (cst.Try, cst.TryStar)):
        handlers = [_statements(h.body) for h in statement.handlers]
        otherwise = _statements(statement.orelse.body) if statement.orelse else ()
        final = _statements(statement.finalbody.body) if statement.finalbody else ()
        return [_statements(statement.body), *handlers, otherwise, final]
    if type(statement) is cst.Match:
        return [_statements(case.body) for case in statement.cases]
    return []


def _statements(suite: cst.BaseSuite) -> Optional[Sequence[cst.BaseStatement]]:
    return suite.body if type(suite) is cst.IndentedBlock else None


def _width(statement: cst.BaseStatement) -> int:
    """How many ast statements a libcst statement is: `a = 1; b = 2` is two."""
    return len(statement.body) if type(statement) is cst.SimpleStatementLine else 1


# How deep under a simple statement _shallow looks: the statement, its small statements,
# their parts (an expression statement's call), the parts of those (the call's arguments).
_SHALLOW = 4


def _block_paths(
    holder: cst.CSTNode,
) -> list[tuple[list[cst.CSTNode], Sequence[cst.BaseStatement]]]:
    """The statement lists of a module or compound statement, each with the nodes between
    the holder and its statements (a block, an `else`, a handler): what a path from the
    holder down to one of its statements goes through."""
    if type(holder) is cst.Module:
        return [([], holder.body)]
    found: list[tuple[list[cst.CSTNode], Sequence[cst.BaseStatement]]] = []

    def add(between: list[cst.CSTNode], suite: cst.BaseSuite) -> None:
        if type(suite) is cst.IndentedBlock:
            found.append(([*between, suite], suite.body))

    if isinstance(holder, (cst.FunctionDef, cst.ClassDef, cst.With, cst.For, cst.While, cst.If)):
        add([], holder.body)
    elif isinstance(holder, (cst.Try, cst.TryStar)):
        add([], holder.body)
        for handler in holder.handlers:
            add([handler], handler.body)
        if holder.finalbody is not None:
            add([holder.finalbody], holder.finalbody.body)
    elif type(holder) is cst.Match:
        for case in holder.cases:
            add([case], case.body)
    orelse = getattr(holder, "orelse", None)
    if type(orelse) is cst.Else:
        add([orelse], orelse.body)
    return found


class _Mismatch(Exception):
    """The ast's statements and libcst's do not line up: position the plain way."""


# --- libcst's code generation, keeping positions instead of tokens -----------------------------
class _PositionState(CodegenState):
    """A CodegenState that only moves a cursor: what libcst's PositionProvidingCodegenState
    records, keyed by the node's id, as plain tuples, without keeping the code."""

    __slots__ = ("_starts", "column", "computed", "line")

    def __init__(
        self,
        module: cst.Module,
        line: int,
        indent_tokens: list[str],
        computed: dict[int, Position],
    ) -> None:
        super().__init__(module.default_indent, module.default_newline)
        self.indent_tokens = indent_tokens
        self.line = line
        self.column = 0
        self._starts: list[tuple[int, int]] = []
        self.computed = computed

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.column += len(token)

    def add_token(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            segments = _NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._starts.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        line, column = self._starts.pop()
        key = id(node)
        if key not in self.computed:  # a syntactic position, recorded inside, wins
            self.computed[key] = (line, column, self.line, self.column)

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> Iterator[None]:
        line, column = self.line, self.column
        try:
            yield
        finally:
            if start_node is not None:
                line, column = self.computed[id(start_node)][:2]
            end = self.computed[id(end_node)][2:] if end_node is not None else None
            end_line, end_column = end if end is not None else (self.line, self.column)
            self.computed[id(node)] = (line, column, end_line, end_column)

    def pop_trailing_newline(self) -> None:
        pass


def _lines_before_keyword(statement: cst.BaseStatement, module: cst.Module) -> int:
    """Line breaks a statement's code has before the line of its ast position: its leading
    lines, and a definition's decorators (which may span lines) and the lines after them."""
    lines = len(statement.leading_lines)  # type: ignore[attr-defined]
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and statement.decorators:
        state = _PositionState(module, 0, [], {})
        for decorator in statement.decorators:
            decorator._codegen(state)
        lines += state.line + len(statement.lines_after_decorators)
    return lines


# --- positions for the nodes of a file's findings ---------------------------------------------
Chain = Sequence[cst.CSTNode]


class Locator:
    """Positions in one module, computed statement by statement as findings ask for them."""

    def __init__(self, module: cst.Module, statements: Optional[Skeleton]) -> None:
        self.module = module
        self.skeleton = statements
        self.computed: dict[int, Position] = {}
        self._generated: set[int] = set()  # statements whose code was generated
        # libcst's statements of a block, by id, to the ast's: by (id of the compound
        # statement, or of the module, and the block's number)
        self._indexes: dict[tuple[int, int], dict[int, Entry]] = {}
        self._pending: list[cst.CSTNode] = []  # nodes no chain holds
        self._shallows: dict[int, dict[int, list[cst.CSTNode]]] = {}  # see _shallow
        self._whole = False

    def locate(self, findings: Iterable[tuple[Sequence[cst.CSTNode], Chain]]) -> None:
        """Compute the positions of each finding's nodes, reported while the walk was at its
        chain (the module first, then the ancestors of the node being visited)."""
        if self.skeleton is None:
            self._generate_module()
            return
        try:
            for nodes, chain in findings:
                missing = [n for n in nodes if id(n) not in self.computed]
                if missing:
                    self._from_chain(missing, chain)
                    self._pending.extend(n for n in missing if id(n) not in self.computed)
            if self._pending:
                self._from_top_level(self._pending)
        except _Mismatch:
            self._generate_module()

    def position(self, node: cst.CSTNode) -> Position:
        return self.computed[id(node)]

    def _from_chain(self, nodes: list[cst.CSTNode], chain: Chain) -> None:
        """The nodes that are statements where the chain says; then, for each statement of
        the chain (and the module), innermost first: the simple statements of its blocks
        that hold a node near their top (a call, an expression statement), each generated
        alone, and at last the chain's statement itself."""
        missing = nodes
        for node in nodes:
            if isinstance(node, cst.BaseStatement) and id(node) not in self._generated:
                self._generate([*chain, node])
        for depth in range(len(chain) - 1, -1, -1):
            holder = chain[depth]
            if not isinstance(holder, (cst.BaseStatement, cst.Module)):
                continue
            missing = [n for n in missing if id(n) not in self.computed]
            if not missing:
                return
            shallow = self._shallow(holder)
            for node in missing:
                suffix = shallow.get(id(node))
                if suffix is not None and id(suffix[-1]) not in self._generated:
                    self._generate([*chain[: depth + 1], *suffix])
            still = any(id(n) not in self.computed for n in missing)
            if (
                still
                and isinstance(holder, cst.BaseStatement)
                and id(holder) not in self._generated
            ):
                self._generate(list(chain[: depth + 1]))

    def _shallow(self, holder: cst.CSTNode) -> dict[int, list[cst.CSTNode]]:
        """The nodes near the top of each simple statement in `holder`'s blocks (within
        _SHALLOW levels), by id, to the path from `holder` down to that statement."""
        found = self._shallows.get(id(holder))
        if found is not None:
            return found
        found = {}
        for between, statements in _block_paths(holder):
            for statement in statements:
                if type(statement) is not cst.SimpleStatementLine:
                    continue
                suffix = [*between, statement]
                level: list[cst.CSTNode] = [statement]
                for _ in range(_SHALLOW):
                    below: list[cst.CSTNode] = []
                    for node in level:
                        found[id(node)] = suffix
                        below.extend(iter_children(node))
                    level = below
        self._shallows[id(holder)] = found
        return found

    def _from_top_level(self, nodes: list[cst.CSTNode]) -> None:
        remaining = {id(node) for node in nodes}
        body = self.module.body
        for statement in body:
            if not remaining:
                return
            todo: list[cst.CSTNode] = [statement]
            found = False
            while todo:
                node = todo.pop()
                if id(node) in remaining:
                    remaining.discard(id(node))
                    found = True
                todo.extend(iter_children(node))
            if found and id(statement) not in self._generated:
                self._generate([self.module, statement])
        if any(
            id(node) not in self.computed for node in nodes
        ):  # the module itself, or a node outside its statements
            self._generate_module()

    def _generate(self, path: list[cst.CSTNode]) -> None:
        """Generate the statement at the end of `path` (from the module down) at its place."""
        statement = path[-1]
        assert isinstance(statement, cst.BaseStatement)
        line = self._line(path)
        if line is None:
            return  # not where the chain says (a node reported from elsewhere)
        indents: list[str] = []
        default = self.module.default_indent
        for node in path[:-1]:
            if isinstance(node, (cst.IndentedBlock, cst.Match)):
                indents.append(default if node.indent is None else node.indent)
        start = line - _lines_before_keyword(statement, self.module)
        state = _PositionState(self.module, start, indents, self.computed)
        parent = path[-2]
        if type(parent) is cst.If and parent.orelse is statement:
            statement._codegen(state, is_elif=True)  # its header says `elif`, not `if`
        else:
            statement._codegen(state)
        self._generated.add(id(statement))

    def _line(self, path: list[cst.CSTNode]) -> Optional[int]:
        """The ast line of the statement at the end of `path`; None when a statement of the
        path is not in the block the path goes through."""
        assert self.skeleton is not None
        index = self._index((id(self.module), 0), self.module.body, self.skeleton)
        entry: Optional[Entry] = None
        owner: Optional[cst.BaseStatement] = None
        for node in path[1:]:
            if not isinstance(node, cst.BaseStatement):
                continue
            if owner is not None and entry is not None:  # the owner's block holding `node`
                cst_blocks = _cst_blocks(owner)
                if len(cst_blocks) != len(entry[1]):
                    raise _Mismatch
                for number, (cst_block, ast_block) in enumerate(zip(cst_blocks, entry[1])):
                    if cst_block is None:
                        continue  # small statements on the header's line
                    index = self._index((id(owner), number), cst_block, ast_block)
                    if id(node) in index:
                        break
                else:
                    return None
            entry = index.get(id(node))
            if entry is None:
                return None
            owner = node
        return entry[0] if entry is not None else None

    def _index(
        self,
        key: tuple[int, int],
        block: Sequence[cst.BaseStatement],
        entries: Sequence[Entry],
    ) -> dict[int, Entry]:
        """libcst's statements of a block, by id, to the ast's entries (once per block)."""
        index = self._indexes.get(key)
        if index is None:
            if sum(_width(s) for s in block) != len(entries):
                raise _Mismatch
            index = {}
            at = 0
            for statement in block:
                index[id(statement)] = entries[at]
                at += _width(statement)
            self._indexes[key] = index
        return index

    def _generate_module(self) -> None:
        from libcst.metadata import MetadataWrapper, PositionProvider  # the rare fallback

        found = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        self.computed = {
            id(node): (r.start.line, r.start.column, r.end.line, r.end.column)
            for node, r in found.items()
        }
        self._whole = True
