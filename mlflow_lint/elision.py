"""The definitions the rules can skip: libcst parses only the parts of a file that can matter.

libcst's parse costs ~10x CPython's and its tree costs more to walk than to build, while most of
a big module never touches the tracking API (a store, a web handler, a model flavour). CPython's
ast tree, which the engine builds anyway as its gate, tells which function and class definitions
cannot take part in any finding. Each is replaced by a stub of the same name (`def train():`
and a docstring as long as the body was), so every line keeps its number and every kept line
its text: positions, offsets and noqa comments map back unchanged. The engine walks the rest,
and analyses the whole file after all when a finding or a fix touches a stub
(engine.analyze).

A module-level definition, or a method of a class that can matter, can matter when its text
mentions:
- a name imported from a module on the way to the tracking API (`mlflow`, `mlflow.tracking`,
  `mlflow.log_metric`, `MlflowClient`), used so that it may still reach it: `mlflow.log_metric`
  or `mf` can, `mlflow.entities.Metric` or `mlflow.store.db.utils` cannot;
- a name or attribute bound, outside the definitions that cannot matter, from an expression
  that mentions one of these (`client = MlflowClient()`, `self.client = ...`, `run: ActiveRun`);
- a definition that can matter (a helper a loop calls, a worker handed to a pool);
- or a word an enabled rule reads anywhere besides MLflow calls (`Rule.requires`,
  `Rule.context`: a pool's class name, `MLFLOW_TRACKING_URI`).

Mentions are read from a definition's code: its text with comments, its docstring and its
strings blanked, but for the fields of f-strings (code) and strings that read like a type
naming MlflowClient or an imported name (string annotations); a rule's word counts anywhere,
strings included. Bindings are taken without regard to order or scope. The result is a
superset of what the engine's resolver (names.py) can prove, and the rules act only on calls
the resolver proves to be MLflow's (with a name in mlflow_api.KNOWN_FLUENT_NAMES, for the
fluent API) and on the words above, so eliding never hides a finding. Names used in the
elided code stay known (`Elision.names`) for fixes that must not reuse a name the file uses.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional, Union

from mlflow_lint import mlflow_api as api

Definition = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef]
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
# What str.splitlines splits on besides Python's line breaks ("\r\n", "\r", "\n")
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
# A dotted name not preceded by a dot or a name character: `mlflow.tracking.MlflowClient`.
_CHAIN = re.compile(r"(?<![\w.])[^\W\d]\w*(?:\.[^\W\d]\w*)*")
# `importlib.import_module("mlflow")`, `lazy_import("mlflow")`: the resolver binds the result to
# the mlflow module (names.py), which no import statement shows; such files are not elided.
_IMPORTER_WORDS = ("import", "loader", "module")  # as in _IMPORT_CALL
_IMPORT_CALL = re.compile(r"(?:import|loader|module)\w*\s*\([^()]*['\"]mlflow\b", re.IGNORECASE)
# Eliding a definition shorter than this saves less than it costs.
MIN_LINES = 3

# The fields of each ast node type that can hold nodes worth visiting (the engine's gate uses
# them too): `ast.iter_child_nodes` is twice as slow, and visits `ctx` and operator leaves.
AST_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAF_FIELDS = frozenset({"ctx", "op", "type_comment"})


def ast_fields(kind: type) -> tuple[str, ...]:
    fields = AST_FIELDS.get(kind)
    if fields is None:
        fields = tuple(f for f in getattr(kind, "_fields", ()) if f not in _LEAF_FIELDS)
        AST_FIELDS[kind] = fields
    return fields


def ast_children(node: ast.AST) -> Iterator[ast.AST]:
    for name in AST_FIELDS.get(type(node)) or ast_fields(type(node)):
        value = getattr(node, name)
        if type(value) is list:
            yield from (item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            yield value


@dataclass(frozen=True)
class Stub:
    """A definition replaced by `header` and a docstring that spans the rest of its lines
    `first`..`last` (1-based): one token for libcst, where empty lines would be a node each."""

    first: int
    last: int
    header: str  # "def name():", "async def name():", "class Name:"
    indent: str  # the definition's indentation
    body_indent: str  # its body's, so libcst infers the file's indentation unit as before


class ElidedNames(AbstractSet[str]):
    """Every identifier in the elided code, read from the text when first asked (by a fix
    that must not reuse a name the file uses: most files never ask)."""

    def __init__(self, text: str, spans: Sequence[tuple[int, int]]) -> None:
        self._text = text
        self._spans = spans  # character offsets [begin, end) of the stubbed lines
        self._names: Optional[frozenset[str]] = None

    def _found(self) -> frozenset[str]:
        if self._names is None:
            names: set[str] = set()
            for begin, end in self._spans:
                names.update(_IDENTIFIER.findall(self._text, begin, end))
            self._names = frozenset(names)
        return self._names

    def __contains__(self, name: object) -> bool:
        return name in self._found()

    def __iter__(self) -> Iterator[str]:
        return iter(self._found())

    def __len__(self) -> int:
        return len(self._found())


@dataclass(frozen=True)
class Elision:
    stubs: tuple[Stub, ...]
    names: AbstractSet[str]  # every identifier in the elided code

    def apply(self, text: str) -> str:
        """`text` with every stub in place: same lines, same line endings."""
        lines = split_lines(text)
        for stub in self.stubs:
            for number in range(stub.first, stub.last + 1):
                line = lines[number - 1]
                ending = line[len(line.rstrip("\r\n")) :]
                if number == stub.first:
                    content = stub.indent + stub.header
                elif number == stub.first + 1:
                    content = stub.body_indent + '"""'
                elif number == stub.last:
                    content = '"""'
                elif ending.startswith("\n") and lines[number - 2].endswith("\r"):
                    content = " "  # "\r" + "\n" would be one line break, not two
                else:
                    content = ""
                lines[number - 1] = content + ending
        return "".join(lines)

    def touches(self, first_line: int, last_line: int) -> bool:
        """Whether lines first_line..last_line overlap a stub."""
        return any(s.first <= last_line and first_line <= s.last for s in self.stubs)


def alternation(words: Iterable[str]) -> str:
    """A regex matching any of `words`, longest first, as a trie (`log_(?:metrics?|param)`):
    `re` tries the alternatives of a plain `a|b|c` one by one at every position of the text,
    a trie reads each character once (three times faster on the corpus)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def render(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + render(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        ends = "" in node
        if len(branches) == 1 and not ends:
            return branches[0]
        return "(?:" + "|".join(branches) + ")" + ("?" if ends else "")

    return render(trie)


def split_lines(text: str) -> list[str]:
    """The lines of `text` with their endings, split only where Python ends a line."""
    if not _OTHER_BREAKS.search(text):  # then str.splitlines splits where Python does
        return text.splitlines(keepends=True)
    lines = _LINE.findall(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def plan(
    tree: ast.Module,
    imports: Sequence[Union[ast.Import, ast.ImportFrom]],
    text: str,
    words: Iterable[str],
    called: Optional[Collection[str]] = None,
) -> Optional[Elision]:
    """What of `text` (whose ast is `tree`, with `imports` all its import statements) cannot
    matter to rules that read `words`; None when nothing is worth eliding. `called`: the names
    the file calls (the gate's), when known: a file that calls nothing named like an importer
    imports no module by a call, and its text need not be searched for one."""
    lines = split_lines(text)
    candidates = [_Candidate(node) for node in tree.body if isinstance(node, _DEFINITIONS)]
    if not any(c.worth_eliding(lines) for c in candidates):
        return None
    roots = _import_paths(imports)
    if roots is None or (_may_import_by_call(called) and _IMPORT_CALL.search(text)):
        return None  # `from mlflow import *` or a module imported by a call: any name may be
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    if _dense(candidates, roots, text, starts, lines):
        return None
    word_pattern = (
        re.compile(r"(?<!\w)(?:" + alternation(set(words)) + r")(?!\w)") if words else None
    )
    module_bindings = list(_bindings([s for s in tree.body if not isinstance(s, _DEFINITIONS)]))
    # the names a string annotation can resolve through to MlflowClient
    annotation_names = {
        api.CLIENT,
        *roots,
        *(n for names, _ in module_bindings for n, _ in names),
    }
    state = _Relevance(roots, text, starts, word_pattern, frozenset(annotation_names))
    state.learn(module_bindings)
    pending = candidates
    changed = True
    while changed:  # to a fixpoint: a kept definition can make others matter
        changed = False
        still = []
        kept: list[ast.stmt] = []  # functions kept in this pass, their bindings not read yet
        for candidate in pending:
            if not state.matters(candidate):
                still.append(candidate)
                continue
            changed = True
            body = candidate.node.body
            if isinstance(candidate.node, ast.ClassDef):
                # a class that matters is looked into: its methods are judged one by one
                state.learn(_bindings([s for s in body if not isinstance(s, _DEFINITIONS)]))
                still.extend(_Candidate(s) for s in body if isinstance(s, _DEFINITIONS))
            else:
                state.add(candidate.node.name)  # a helper: code that calls it matters
                kept.append(candidate.node)
        pending = still
        if not pending:
            break  # every definition is kept: what the kept ones bind decides nothing more
        # read after the pass, not at once: the fixpoint is the same (a definition that
        # matters keeps mattering), and where every function logs (dense code) never
        for node in kept:
            state.learn(_bindings([node]), function=True)
    stubs = [c.stub(lines) for c in pending if c.worth_eliding(lines)]
    if not stubs:
        return None
    spans = [(starts[stub.first - 1], starts[stub.last]) for stub in stubs]
    return Elision(tuple(sorted(stubs, key=lambda s: s.first)), ElidedNames(text, spans))


# Below this share of a file's lines in definitions that never name an MLflow import, eliding
# saves less than deciding what to elide costs (reading every definition's text twice).
MIN_FREE_SHARE = 0.05


def _dense(
    candidates: list[_Candidate],
    roots: dict[str, set[str]],
    text: str,
    starts: list[int],
    lines: list[str],
) -> bool:
    """Whether nearly every definition names an MLflow import (`mlflow`, `MlflowClient`):
    dense logging code, where the definitions free of them, the most eliding could stub, are
    under MIN_FREE_SHARE of the lines. A class is counted by its methods."""
    reaching = {name for name, paths in roots.items() if any(map(api.may_reach_api, paths))}
    if not reaching:
        return False
    names = re.compile(r"(?<![\w.])(?:" + alternation(reaching) + r")(?!\w)")
    budget = len(lines) * MIN_FREE_SHARE
    free = 0
    todo = list(candidates)
    while todo:
        candidate = todo.pop()
        if not candidate.worth_eliding(lines):
            continue
        end = starts[min(candidate.last, len(starts) - 1)]
        if not names.search(text, starts[_after_docstring(candidate) - 1], end):
            free += candidate.last - candidate.first + 1
            if free >= budget:
                return False
        elif isinstance(candidate.node, ast.ClassDef):
            todo.extend(_Candidate(s) for s in candidate.node.body if isinstance(s, _DEFINITIONS))
    return True


def _after_docstring(candidate: _Candidate) -> int:
    """The first line of a definition after its decorators and docstring: library docstrings
    show MLflow in examples that are not code, and CLI decorators name it in help texts
    (counting those lines as free only makes the test fall back to reading the code)."""
    first = candidate.node.body[0]
    if (
        type(first) is ast.Expr
        and type(first.value) is ast.Constant
        and isinstance(first.value.value, str)
        and first.end_lineno is not None
    ):
        return min(first.end_lineno + 1, candidate.last)
    return candidate.node.lineno


def _may_import_by_call(called: Optional[Collection[str]]) -> bool:
    if called is None:
        return True
    return any(word in name.lower() for name in called for word in _IMPORTER_WORDS)


@dataclass
class _Candidate:
    node: Definition
    first: int = field(init=False)  # first line, decorators included
    last: int = field(init=False)
    identifiers: Optional[frozenset[str]] = field(default=None, init=False)
    reaches_mlflow: bool = field(default=False, init=False)
    precise: bool = field(default=False, init=False)  # read from its code, not its text

    def __post_init__(self) -> None:
        self.first = min([self.node.lineno, *(d.lineno for d in self.node.decorator_list)])
        self.last = self.node.end_lineno or self.node.lineno

    def spans(self) -> list[tuple[int, int]]:
        """Its lines (first, last), without a function's docstring: a docstring that shows
        `mlflow.log_metric(...)` does not make the function log."""
        body = self.node.body
        docstring = (
            not isinstance(self.node, ast.ClassDef)
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        )
        if not docstring:
            return [(self.first, self.last)]
        doc_first, doc_last = body[0].lineno, body[0].end_lineno or body[0].lineno
        return [(self.first, doc_first - 1), (doc_last + 1, self.last)]

    def worth_eliding(self, lines: list[str]) -> bool:
        """A body that starts on a line of its own, indented deeper than the definition, and
        long enough to be worth a stub."""
        node, body = self.node, self.node.body[0]
        if body.lineno <= node.lineno or self.last - node.lineno + 1 < MIN_LINES:
            return False
        body_line, def_line = lines[body.lineno - 1], lines[node.lineno - 1]
        # col_offset counts UTF-8 bytes; whitespace is ASCII, so an all-blank prefix is exact
        if body_line[: body.col_offset].strip(" \t\f"):
            return False  # `def f(a,\n      b): return a`: the body shares a header line
        if lines[body.lineno - 2].rstrip("\r\n").endswith("\\"):
            return False  # `class A: \` + `pass`: one logical line, no indented block
        indent, body_indent = _indentation(def_line), _indentation(body_line)
        return body_indent.startswith(indent) and len(body_indent) > len(indent)

    def stub(self, lines: list[str]) -> Stub:
        node = self.node
        if isinstance(node, ast.ClassDef):
            header = f"class {node.name}:"
        elif isinstance(node, ast.AsyncFunctionDef):
            header = f"async def {node.name}():"
        else:
            header = f"def {node.name}():"
        indent = _indentation(lines[self.first - 1])
        body_indent = _indentation(lines[node.body[0].lineno - 1])
        return Stub(self.first, self.last, header, indent, body_indent)


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t\f"))]


def _import_paths(
    imports: Sequence[Union[ast.Import, ast.ImportFrom]],
) -> Optional[dict[str, set[str]]]:
    """Name -> the MLflow paths imports bind it to (`import mlflow as mf`: mf -> {"mlflow"}),
    anywhere in the file; None for a star import from mlflow."""
    roots: dict[str, set[str]] = {}
    for node in imports:
        for alias in node.names:
            if isinstance(node, ast.Import):
                if not api.is_mlflow_path(alias.name):
                    continue
                if alias.asname is None:  # `import mlflow.tracking` binds mlflow
                    roots.setdefault("mlflow", set()).add("mlflow")
                else:
                    roots.setdefault(alias.asname, set()).add(alias.name)
            elif node.level == 0 and api.is_mlflow_path(node.module):
                if alias.name == "*":
                    return None
                path = f"{node.module}.{alias.name}"
                roots.setdefault(alias.asname or alias.name, set()).add(path)
    return roots


class _Relevance:
    """The names that may hold something of MLflow's, and the test of a definition."""

    def __init__(
        self,
        roots: dict[str, set[str]],
        text: str,
        starts: list[int],
        words: Optional[re.Pattern[str]],
        annotation_names: frozenset[str],
    ) -> None:
        self.roots = roots  # imported names, by the paths they are bound to
        self.plain: set[str] = set()  # names and attributes that may hold something of MLflow's
        # bindings whose value does not matter (yet), by the names they read
        self._waiting: dict[str, list[_Waiting]] = {}
        self.text = text
        self.starts = starts
        self.words = words
        self.annotation_names = annotation_names

    def matters(self, candidate: _Candidate) -> bool:
        if candidate.identifiers is None:
            self._read(candidate, precise=False)
        assert candidate.identifiers is not None
        if candidate.reaches_mlflow:
            return True
        if self.plain.isdisjoint(candidate.identifiers):
            return False
        if not candidate.precise:  # its text mentions a name that matters: does its code?
            self._read(candidate, precise=True)
        return candidate.reaches_mlflow or not self.plain.isdisjoint(candidate.identifiers)

    def _read(self, candidate: _Candidate, precise: bool) -> None:
        """What a definition mentions: from its text (cheap, a superset: its strings and
        comments count too), or `precise`ly, from its code (comments and strings blanked).
        Text that mentions nothing that may reach MLflow needs no closer reading."""
        # a rule's word counts anywhere, docstrings included (MLF401 reads strings)
        whole = (
            self.starts[candidate.first - 1],
            self.starts[min(candidate.last, len(self.starts) - 1)],
        )
        if self.words is not None and self.words.search(self.text, *whole):
            candidate.identifiers, candidate.reaches_mlflow = frozenset(), True
            return
        identifiers: set[str] = set()
        reaches = False
        for first, last in candidate.spans():
            if first > last:
                continue
            begin, end = self.starts[first - 1], self.starts[last]
            source = self.text[begin:end]
            if precise:
                source = code_text(source, self.annotation_names)
            chains = set(_CHAIN.findall(source))
            # an attribute of anything but a name (`f().x`) resolves only through a call of an
            # MLflow factory, a chain of its own: the chains' names are all the names needed
            identifiers.update(name for chain in chains for name in chain.split("."))
            reaches = reaches or self.reaches(chains)
        if reaches and not precise:
            self._read(candidate, precise=True)
            return
        candidate.identifiers = frozenset(identifiers)
        candidate.reaches_mlflow = reaches
        candidate.precise = precise

    def reaches(self, chains: Iterable[str]) -> bool:
        """Whether a dotted name, rooted at an imported one, may lead to the tracking API."""
        roots = self.roots
        for chain in chains:
            root, _, rest = chain.partition(".")
            if root in roots and any(_may_reach(path, rest) for path in roots[root]):
                return True
        return False

    def learn(self, bindings: Iterable[_Binding], function: bool = False) -> None:
        """Take in `bindings` (of a function's body when `function`: its names are local, only
        its attributes reach further), and add the names bound from values that matter, to a
        fixpoint with every binding taken in before. A binding whose value does not matter
        (yet) waits on the names it reads: adding one of them wakes it, so each binding is
        looked at once per name it reads, whatever the number of definitions."""
        scope = _Scope() if function else None
        for names, chains in bindings:
            read = frozenset(name for chain in chains for name in chain.split("."))
            waiting = _Waiting(names, read, scope)
            if self.reaches(chains) or self._matches(waiting):
                self._fire(waiting)
                continue
            for name in read:
                self._waiting.setdefault(name, []).append(waiting)
                if scope is not None:
                    scope.waiting.setdefault(name, []).append(waiting)

    def add(self, name: str) -> None:
        """A name that matters (a helper that reaches MLflow: names.py resolves what it
        returns)."""
        if name not in self.plain:
            self.plain.add(name)
            for waiting in self._waiting.pop(name, ()):
                self._fire(waiting)

    def _matches(self, waiting: _Waiting) -> bool:
        """Whether a binding's value may be something of MLflow's: it reads a name that
        matters, called or not (a definition that matters may return something of MLflow's:
        `def get_client(): return MlflowClient()`)."""
        plain = self.plain
        local = waiting.scope.local if waiting.scope is not None else ()
        return any(name in plain or name in local for name in waiting.read)

    def _fire(self, waiting: _Waiting) -> None:
        """The binding's value may be MLflow's: the names it binds are too (a function's plain
        names only in that function), and the bindings waiting on them wake up."""
        queue = [waiting]
        while queue:
            current = queue.pop()
            if current.fired:
                continue
            current.fired = True
            scope = current.scope
            for name, is_attribute in current.names:
                if scope is not None and not is_attribute:
                    if name not in scope.local:
                        scope.local.add(name)
                        queue.extend(scope.waiting.pop(name, ()))
                elif name not in self.plain:
                    self.plain.add(name)
                    queue.extend(self._waiting.pop(name, ()))


@dataclass
class _Scope:
    """A function that matters: the names it binds to values that may be MLflow's, and its
    bindings waiting on one of its names."""

    local: set[str] = field(default_factory=set)
    waiting: dict[str, list[_Waiting]] = field(default_factory=dict)


@dataclass(eq=False)
class _Waiting:
    names: list[tuple[str, bool]]  # (name, whether an attribute) bound
    read: frozenset[str]  # the names its value reads
    scope: Optional[_Scope]  # None: a module-level (or class-level) binding
    fired: bool = False


@lru_cache(maxsize=4096)
def _may_reach(path: str, rest: str) -> bool:
    return api.may_reach_api(f"{path}.{rest}" if rest else path)


# Leaves: no binding below them.
_SCALAR_NODES = frozenset({ast.Name, ast.Constant})
# ((name, whether an attribute) bound, dotted names the value is read from)
_Binding = tuple[list[tuple[str, bool]], list[str]]


def _bindings(statements: Sequence[ast.stmt]) -> Iterator[_Binding]:
    """What the resolver binds from a value: assignments, `with ... as`, walrus, annotated
    targets and parameters. Like the resolver, only a name, an attribute or a call carries a
    value (`client = MlflowClient()`, `log = mlflow.log_metric`, `self.client = client`);
    `x = [MlflowClient()]` binds nothing of MLflow's."""
    todo: list[ast.AST] = list(statements)
    while todo:
        node = todo.pop()
        if type(node) in _SCALAR_NODES:
            continue
        todo.extend(ast_children(node))
        targets: list[ast.expr]
        value: Optional[ast.expr] = None
        annotation: Optional[ast.expr] = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value, annotation = [node.target], node.value, node.annotation
        elif isinstance(node, ast.NamedExpr):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets, value = [node.optional_vars], node.context_expr
        elif isinstance(node, ast.arg) and node.annotation is not None:
            yield [(node.arg, False)], _dotted_mentions([node.annotation])
            continue
        else:
            continue
        names = [bound for target in targets for bound in _bound_names(target)]
        if not names:
            continue
        if annotation is not None:  # `client: MlflowClient`, `"Optional[MlflowClient]"`
            yield names, _dotted_mentions([annotation])
        for alternative in _alternatives(value):  # `client or MlflowClient()`
            if isinstance(alternative, ast.Call):
                yield names, _dotted_mentions([alternative.func])
            elif isinstance(alternative, (ast.Name, ast.Attribute)):
                yield names, _dotted_mentions([alternative])


def _alternatives(value: Optional[ast.expr]) -> Iterator[ast.expr]:
    """The values an expression may take as the resolver sees them: both sides of `a or b`
    and of `a if c else b`, else the expression itself."""
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
        for operand in value.values:
            yield from _alternatives(operand)
    elif isinstance(value, ast.IfExp):
        yield from _alternatives(value.body)
        yield from _alternatives(value.orelse)
    elif value is not None:
        yield value


def _bound_names(target: ast.expr) -> Iterator[tuple[str, bool]]:
    """`x` -> x, `self.x` -> x (an attribute the resolver tracks), tuples element-wise."""
    if isinstance(target, ast.Name):
        yield target.id, False
    elif isinstance(target, ast.Attribute):
        yield target.attr, True
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _bound_names(element)
    elif isinstance(target, ast.Starred):
        yield from _bound_names(target.value)


def _dotted_mentions(nodes: Iterable[ast.AST]) -> list[str]:
    """The names in `nodes` as dotted chains (`mlflow.tracking.MlflowClient`, `client`, an
    attribute of anything else on its own), and the dotted names inside short string
    constants (string annotations: `"MlflowClient | None"`)."""
    found: list[str] = []
    todo: list[ast.AST] = list(nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Attribute):
            parts = []
            inner: ast.AST = node
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name):
                found.append(".".join([inner.id, *reversed(parts)]))
                continue
            found.extend(parts)
            todo.append(inner)
            continue
        if isinstance(node, ast.Name):
            found.append(node.id)
            continue
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and len(node.value) <= 200:
                found.extend(_CHAIN.findall(node.value))
            continue
        todo.extend(ast_children(node))
    return found


# Comments and string literals: what code_text blanks.
_NON_CODE = re.compile(
    r"#[^\r\n]*"
    r"|(?P<prefix>[rRbBuUfF]{0,2})(?P<quote>\'\'\'|\"\"\"|\'|\")(?P<body>(?:\\.|[^\\])*?)(?P=quote)",
    re.DOTALL,
)
_TYPE_LIKE = re.compile(r"[\w.\[\], |]{0,200}")


# A one-line import: the names it binds are known from the file's imports (every later use of
# them is read on its own), so `import mlflow` alone does not make a definition matter.
_IMPORT_LINE = re.compile(r"(?m)^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+[\w., \t]*$")


def code_text(source: str, annotation_names: Collection[str] = (api.CLIENT,)) -> str:
    """`source` (whole statements of a file that parses) without its comments, strings and
    one-line imports, but the replacement fields of f-strings (code) and the strings that
    read like a type naming one of `annotation_names` (a string annotation: "MlflowClient |
    None")."""

    def blank(match: re.Match[str]) -> str:
        prefix = match.group("prefix")
        if prefix is None:
            return ""  # a comment
        body = match.group("body")
        if "f" in prefix or "F" in prefix:
            return f" {_fields(body)} "
        if _TYPE_LIKE.fullmatch(body) and any(
            name in annotation_names for name in _IDENTIFIER.findall(body)
        ):
            return match.group()
        return " "

    return _IMPORT_LINE.sub("", _NON_CODE.sub(blank, source))


def _fields(body: str) -> str:
    """The replacement fields of an f-string's body (`{mlflow.active_run().info}`), the rest
    blanked; `{{` and `}}` are literal braces."""
    kept: list[str] = []
    depth = 0
    index = 0
    while index < len(body):
        char = body[index]
        if depth == 0 and char in "{}" and body[index + 1 : index + 2] == char:
            index += 2
            continue
        if char == "{":
            depth += 1
            kept.append(" " if depth == 1 else char)
        elif char == "}" and depth:
            depth -= 1
            kept.append(" " if depth == 0 else char)
        elif depth:
            kept.append(char)
        index += 1
    return "".join(kept)
