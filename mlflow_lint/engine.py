"""The data path for one file, top to bottom:

bytes -> prefilter ("mlflow" and an enabled rule's name in the bytes) -> decode -> the rules
whose names occur in the text -> ast gate (CPython's syntax errors, a nesting bound, and the
names the file really calls: only rules that can fire stay) -> libcst parse -> one walk of
those rules -> violations -> noqa -> report; or, for `fix`: -> apply fixes -> re-parse and
re-check until stable -> atomic write.

Every failure on the way (unreadable, undecodable, unparsable, too deeply nested, a bug in a
rule) becomes one FileError for that file; nothing is written for a file that failed. The
content cache (cache.py) and notebooks (notebook.py, reached through dispatch.py) wrap this
path; they do not change it.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import gc
import os
import re
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Optional, Protocol, Union

from mlflow_lint import elision
from mlflow_lint.config import Settings
from mlflow_lint.noqa import NoqaFilter
from mlflow_lint.results import FileError as FileError
from mlflow_lint.results import FileResult as FileResult
from mlflow_lint.results import WriteError as WriteError
from mlflow_lint.results import applicable as applicable
from mlflow_lint.rule import Edit, Fix, Report, Rule, Safety, Violation, apply_edits

if TYPE_CHECKING:
    import libcst as cst

    from mlflow_lint import positions
    from mlflow_lint.context import Visitor
from mlflow_lint.sourcefile import (
    SourceError,
    SourceText,
    atomic_write,
    decode,
    first_newline,
    indent_following_lines,
    line_starts,
    read_bytes,
)

MAX_FIX_PASSES = 10
# Source longer than this is generated code (data, protobuf): one diagnostic, not minutes of
# libcst. Notebooks count their code cells only, not their outputs.
MAX_SOURCE_CHARS = 10_000_000
# libcst's native parser overflows the C stack (a segfault, not an exception) on expressions a
# few thousand levels deep and is quadratic well before that; CPython's own parser stops at 200
# nested brackets. Real code stays far below this bound on the ast depth.
MAX_AST_DEPTH = 500

sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))  # libcst's codegen recurses per node


# --- 1. prefilter: most files cannot hold a finding and are never parsed ------------------------
# A trigger name where code can call it, pass it as a keyword or alias it: followed by `(`,
# `=`, `as`, or the end of a value (`g = x.log_metric`; a quote ends a cell's last line in a
# notebook's JSON). Strings and comments may match too: this only has to be a superset of
# what the ast gate counts as called.
_CALL_SHAPE = r"\b({})(?=[ \t]*(?:[(=,;#)\\\r\n\"']|as\b|$))"  # `\b`: lookbehinds are slow


class _Triggered(Protocol):
    """A rule class, or its entry in the catalogue (which the prefilter reads without libcst)."""

    @property
    def code(self) -> str: ...
    @property
    def triggers(self) -> frozenset[str]: ...


def _trigger_words(rules: tuple[_Triggered, ...]) -> list[str]:
    return sorted({word for rule in rules for word in rule.triggers}, key=len, reverse=True)


@lru_cache(maxsize=64)
def _trigger_pattern(rules: tuple[_Triggered, ...]) -> Optional[re.Pattern[bytes]]:
    words = _trigger_words(rules)
    if not words:
        return None
    return re.compile(_CALL_SHAPE.format(elision.alternation(words)).encode())


def may_hold_findings(data: bytes, rules: tuple[_Triggered, ...]) -> bool:
    """A necessary condition for any finding: "mlflow" (any case) and one enabled rule's
    trigger name where code could call it."""
    pattern = _trigger_pattern(rules)
    return pattern is not None and b"mlflow" in data.lower() and bool(pattern.search(data))


def applicable_rules(text: str, rules: Sequence[type[Rule]]) -> list[type[Rule]]:
    """The rules whose required names the text mentions. Which trigger names the file really
    calls is the gate's business (exact, from the ast): every caller has run the byte
    prefilter, so a rule-by-rule text search here would only repeat it, slowly."""
    return [rule for rule in rules if not rule.requires or any(w in text for w in rule.requires)]


# --- 2. parse: CPython's ast first (clear errors, cheap depth bound), then libcst --------------
def parse(text: str) -> cst.Module:
    """The gate, then libcst: the whole file as a libcst Module. Raises SourceError."""
    gate(text)
    return parse_cst(text)


@dataclass(frozen=True)
class Gate:
    tree: ast.Module
    called: set[str]  # names the file calls, with the names they alias
    imports: list[Union[ast.Import, ast.ImportFrom]]  # every import statement, at any depth


def gate(text: str, tree: Optional[ast.Module] = None) -> Gate:
    """CPython's ast as a gate (its syntax errors, a bound on nesting that protects libcst's
    native parser) that also reports the names the file calls: callee names (`f()`,
    `x.f()`), keyword argument names, and the names they alias (`from m import f as g`,
    `g = x.f`). A rule can only fire where one of its trigger names is called, so a rule whose
    triggers are not among them is not run, and a file with no such rule is never handed to
    libcst. The tree and its imports also decide what libcst can skip (elision.py). `tree`:
    the text's ast when the caller has it already (flake8 builds one for pyflakes)."""
    try:
        if tree is None:
            tree = ast.parse(text)
    except SyntaxError as error:
        line = error.lineno or 1
        column = max((error.offset or 1) - 1, 0)
        raise SourceError(f"SyntaxError: {error.msg}", line, column) from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested to analyse (Python's parser gave up)") from None
    except ValueError as error:  # e.g. NUL bytes in a str handed over by flake8
        raise SourceError(f"cannot parse: {error}") from None
    names: set[str] = set()
    aliases: dict[str, set[str]] = {}
    imports: list[Union[ast.Import, ast.ImportFrom]] = []
    deepest, where = 0, 1
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    push = stack.append
    fields_of = elision.AST_FIELDS
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            if type(func) is ast.Name:
                names.add(func.id)
            elif type(func) is ast.Attribute:
                names.add(func.attr)
            names.update(k.arg for k in node.keywords if k.arg)  # type: ignore[attr-defined]
        elif kind is ast.BoolOp:  # libcst nests `a and b and c`: one level per operator
            depth += len(node.values) - 2  # type: ignore[attr-defined]
        elif kind is ast.ImportFrom:
            imports.append(node)  # type: ignore[arg-type]
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.asname:
                    aliases.setdefault(alias.asname, set()).add(alias.name)
        elif kind is ast.Import:
            imports.append(node)  # type: ignore[arg-type]
        elif kind is ast.Assign:
            value = node.value  # type: ignore[attr-defined]
            source = value.id if type(value) is ast.Name else getattr(value, "attr", None)
            if source:
                for target in node.targets:  # type: ignore[attr-defined]
                    if type(target) is ast.Name:
                        aliases.setdefault(target.id, set()).add(source)
        if depth > deepest:
            deepest, where = depth, getattr(node, "lineno", where)
        depth += 1
        for field_name in fields_of.get(kind) or elision.ast_fields(kind):
            value = getattr(node, field_name)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        push((item, depth))
            elif isinstance(value, ast.AST):
                push((value, depth))
    if deepest > MAX_AST_DEPTH:
        raise SourceError(
            f"expression too deeply nested to analyse (depth > {MAX_AST_DEPTH})", where
        )
    for alias, sources in aliases.items():
        if alias in names:
            names |= sources
    return Gate(tree, names, imports)


def _newer_syntax(error: SourceError, text: str) -> bool:
    """Whether CPython's rejection of `text` is syntax libcst knows (a newer Python's): never
    for nesting (libcst's native parser would overflow the C stack where CPython stops)."""
    if not error.message.startswith("SyntaxError") or "nested" in error.message:
        return False
    try:
        parse_cst(text)
    except SourceError:
        return False
    return True


def parse_cst(text: str) -> cst.Module:
    import libcst as cst  # here, not at the top: the cache and the prefilter never need it

    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        message = str(error.message).splitlines()[0] if error.message else "syntax error"
        raise SourceError(
            f"libcst cannot parse this file: {message}", error.raw_line, error.raw_column
        ) from None
    except cst.CSTValidationError as error:  # e.g. an identifier CPython rejects too
        message = str(error).splitlines()[0]
        raise SourceError(f"libcst cannot parse this file: {message}") from None
    except RecursionError:
        raise SourceError("too deeply nested to analyse") from None


# --- 3. one walk of every enabled rule ------------------------------------------------------------
_methods: dict[type[Rule], tuple[tuple[str, type, bool], ...]] = {}


def _rule_methods(rule: type[Rule]) -> tuple[tuple[str, type, bool], ...]:
    """(method name, libcst node type, is_leave) for each visit_X / leave_X the rule defines."""
    if rule in _methods:
        return _methods[rule]
    import libcst as cst

    methods = []
    for attribute in dir(rule):
        for prefix, is_leave in (("visit_", False), ("leave_", True)):
            if attribute.startswith(prefix):
                node_type = getattr(cst, attribute[len(prefix) :], None)
                if isinstance(node_type, type) and issubclass(node_type, cst.CSTNode):
                    methods.append((attribute, node_type, is_leave))
    _methods[rule] = tuple(methods)
    return _methods[rule]


def analyze(
    text: str,
    path: str,
    rules: Sequence[type[Rule]],
    settings: Settings,
    elide: bool = True,
    boundary: Optional[str] = None,
    tree: Optional[ast.Module] = None,
) -> list[Violation]:
    """All violations of `rules` in `text`, sorted, with noqa applied. Raises SourceError.
    `boundary`: the comment of the statements that separate a notebook's cells (fixes put
    the imports they add into the cell they change).

    Definitions that cannot take part in a finding are replaced by stubs before libcst parses
    the file (elision.py); when a finding or a fix touches a stub after all, the whole file is
    analysed instead (`elide=False`), so the result never depends on the elision. `tree`: the
    ast of `text`, when the caller has one (never modified)."""
    with _cycle_collector_paused():
        return _analyze(text, path, rules, settings, elide, boundary, tree)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector runs every few hundred allocations and traverses every live
    object it tracks: while the ast and libcst build their trees (hundreds of thousands of
    objects, no cycles: they are freed by reference counting) it costs a third of libcst's
    parse. It runs again once the file is done."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _analyze(
    text: str,
    path: str,
    rules: Sequence[type[Rule]],
    settings: Settings,
    elide: bool,
    boundary: Optional[str],
    tree: Optional[ast.Module],
) -> list[Violation]:
    if len(text) > MAX_SOURCE_CHARS:
        raise SourceError(
            f"file too large to analyse ({len(text) / 1e6:.1f} million characters; "
            f"the limit is {MAX_SOURCE_CHARS / 1e6:.0f} million)"
        )
    rules = applicable_rules(text, rules)
    if not rules:
        return []
    try:
        checked = gate(text, tree)
    except SourceError as error:
        if not _newer_syntax(error, text):
            raise
        # syntax newer than the running Python (3.12 f-strings on 3.11) that libcst parses:
        # the whole file, without the gate's shortcuts
        return _walk_rules(text, text, path, rules, settings, None, None, boundary)
    called = checked.called
    rules = [r for r in rules if r.triggers & called and (not r.requires or r.requires & called)]
    if not rules:
        return []
    skipped = None
    if elide:
        skipped = elision.plan(
            checked.tree, checked.imports, text, _context_words(tuple(rules)), checked.called
        )
    from mlflow_lint import positions

    # the whole-file run (elide=False, the reference) computes positions the plain way
    statements = positions.skeleton(checked.tree) if elide else None
    del checked  # the ast is not needed during the walk: free it
    if skipped is None:
        return _walk_rules(text, text, path, rules, settings, None, statements, boundary)
    violations = _walk_rules(
        skipped.apply(text), text, path, rules, settings, skipped, statements, boundary
    )
    if any(_touches(skipped, v) for v in violations):
        return _analyze(text, path, rules, settings, False, boundary, tree)
    return violations


@lru_cache(maxsize=64)
def _context_words(rules: tuple[type[Rule], ...]) -> frozenset[str]:
    """Words the rules read anywhere in a file besides MLflow calls: code that mentions one is
    never elided."""
    return frozenset(word for rule in rules for word in rule.requires | rule.context)


def _touches(skipped: elision.Elision, violation: Violation) -> bool:
    if skipped.touches(violation.line, violation.end_line):
        return True
    edits = violation.fix.edits if violation.fix else ()
    return any(skipped.touches(e.start_line, e.end_line) for e in edits)


def _walk_rules(
    parsed_text: str,
    text: str,
    path: str,
    rules: Sequence[type[Rule]],
    settings: Settings,
    skipped: Optional[elision.Elision],
    statements: Optional[positions.Skeleton],
    boundary: Optional[str] = None,
) -> list[Violation]:
    """Parse `parsed_text` (`text`, or `text` with stubs: same lines and columns) with libcst
    and walk it once with every rule; positions and offsets refer to `text`, whose statements
    are `statements` (None: position the plain way, from the whole module)."""
    from mlflow_lint.context import FileContext

    module = parse_cst(parsed_text)
    ctx = FileContext(module, path, text, skipped.names if skipped else frozenset(), boundary)
    ctx.enabled = frozenset(rule.code for rule in rules)
    reports: list[Report] = []
    chains: list[tuple[cst.CSTNode, ...]] = []  # the walk's ancestors at each report
    ancestors = ctx.ancestors

    def emit(report: Report) -> None:
        reports.append(report)
        chains.append(tuple(ancestors))

    instances = [rule(ctx, emit, settings.options_for(rule)) for rule in rules]
    visits: dict[type, list[Visitor]] = {}
    leaves: dict[type, list[Visitor]] = {}
    for instance in instances:
        for method_name, node_type, is_leave in _rule_methods(type(instance)):
            table = leaves if is_leave else visits
            table.setdefault(node_type, []).append(getattr(instance, method_name))
    try:
        ctx.walk(visits, leaves)
        for instance in instances:
            instance.finish()
        if not reports:
            return []
        return _to_violations(reports, chains, module, text, settings, statements)
    except RecursionError:
        raise SourceError("too deeply nested to analyse") from None
    except SourceError:
        raise
    except Exception as error:  # a bug in a rule: report it for this file, go on with the rest
        where = traceback.extract_tb(error.__traceback__)[-1]
        raise SourceError(
            f"internal error: {type(error).__name__}: {error} "
            f"({os.path.basename(where.filename)}:{where.lineno}); please report it"
        ) from None
    finally:
        # Drop the walk's state: cycles through it (reports -> rule -> emit -> reports, a
        # recursive closure that reads the context) would keep both trees alive until the
        # cycle collector runs, which is paused during the analysis.
        reports.clear()
        chains.clear()
        for instance in instances:
            instance.__dict__.clear()
        ctx.__dict__.clear()


# --- 4. violations: positions only for files with findings, then noqa -------------------------
def _to_violations(
    reports: list[Report],
    chains: list[tuple[cst.CSTNode, ...]],
    module: cst.Module,
    text: str,
    settings: Settings,
    statements: Optional[positions.Skeleton],
) -> list[Violation]:
    from mlflow_lint import positions

    locator = positions.Locator(module, statements)
    try:
        locator.locate((_nodes_of(report), chain) for report, chain in zip(reports, chains))
    except RecursionError:
        raise SourceError("too deeply nested to analyse") from None
    where = locator.position
    starts = line_starts(text)
    newline = first_newline(text)
    noqa = NoqaFilter(text) if settings.respect_noqa else None
    if noqa is not None and noqa.file_ignored():
        return []
    violations = []
    for report in reports:
        line, column = where(report.node)[:2]
        end_line, end_column = where(report.end_node or report.node)[2:]
        code = report.rule.code
        if noqa is not None and noqa.suppressed(code, line):
            continue
        fix = None
        if report.fix is not None:
            edits = []
            for node_edit in report.fix.edits:
                first_line, first_column = where(node_edit.first)[:2]
                last_line, last_column = where(node_edit.last)[2:]
                begin = starts[first_line - 1] + first_column
                indent = _indentation(text, starts[first_line - 1], begin)
                content = indent_following_lines(node_edit.content, indent, newline)
                if node_edit.insert:  # before `first`, replacing nothing
                    last_line, last_column, stop = first_line, first_column, begin
                    if content.endswith(("\n", "\r")):  # `first` keeps its indentation
                        content += indent
                else:
                    stop = _past_repeated_tail(content, text, starts[last_line - 1] + last_column)
                edits.append(
                    Edit(begin, stop, content, first_line, first_column, last_line, last_column)
                )
            fix = Fix(report.fix.description, report.fix.safety, tuple(edits))
        violations.append(
            Violation(
                code,
                report.rule.name,
                report.message,
                line,
                column,
                end_line,
                end_column,
                fix,
                help=report.help,
            )
        )
    violations.sort(key=lambda v: (v.line, v.column, v.code))
    return violations


def _nodes_of(report: Report) -> list[cst.CSTNode]:
    """The nodes a finding needs positions for: its own, and its fix's edits'."""
    nodes = [report.node]
    if report.end_node is not None:
        nodes.append(report.end_node)
    if report.fix is not None:
        nodes += [n for edit in report.fix.edits for n in (edit.first, edit.last)]
    return nodes


def _past_repeated_tail(content: str, text: str, stop: int) -> int:
    """Where an edit ends. libcst's ranges stop before the `;` and the comment ending a
    statement's last line, while code re-rendered from the node carries them: when it does,
    the edit covers the file's copy too, so each stays once, where the new code puts it."""
    line_end = text.find("\n", stop)
    if line_end < 0:
        line_end = len(text)
    tail = text[stop:line_end].rstrip("\r")
    stripped = tail.strip()
    if stripped[:1] not in (";", "#"):
        return stop
    comment = stripped[stripped.index("#") :] if "#" in stripped else ""
    if (comment and comment in content) or (not comment and content.rstrip().endswith(";")):
        return stop + len(tail)
    return stop


def _indentation(text: str, line_start: int, column_offset: int) -> str:
    prefix = text[line_start:column_offset]
    return prefix if not prefix.strip() else prefix[: len(prefix) - len(prefix.lstrip())]


# --- 5. check: the whole path for one file ------------------------------------------------------
def check_source(data: bytes, path: str, settings: Settings) -> FileResult:
    if not may_hold_findings(data, settings.rule_infos_for(path)):
        return FileResult(path)
    rules = settings.rules_for(path)
    try:
        source = decode(data)
        violations = analyze(source.text, path, rules, settings)
    except SourceError as error:
        return FileResult(
            path, error=FileError(error.message, error.line, error.column), parsed=True
        )
    return FileResult(path, violations, parsed=True)


def check_file(path: str, settings: Settings) -> FileResult:
    try:
        data = read_bytes(path)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message))
    return check_source(data, path, settings)


# --- 6. fix: apply, re-parse, re-check until stable; then write atomically ----------------------
def apply_fixes(
    text: str, fixes: Sequence[Fix], applied_fixes: Optional[list[Fix]] = None
) -> tuple[str, int]:
    """Apply the fixes whose edits do not overlap an earlier one; returns (text, applied).
    `fixes` has one entry per finding: `applied` counts the findings fixed (findings that
    share one fix, such as the calls of one buffered loop, are each fixed by it).
    `applied_fixes`, when given, receives the fixes applied, one entry per finding."""
    taken = _Spans()
    chosen: list[Edit] = []
    chosen_fixes: set[Fix] = set()
    applied = 0
    # Safe fixes first: where a safe and an unsafe fix overlap, the safe one wins.
    for fix in sorted(
        fixes, key=lambda f: (f.safety is not Safety.SAFE, min(e.start for e in f.edits))
    ):
        if fix in chosen_fixes:  # another finding of the same fix
            applied += 1
            if applied_fixes is not None:
                applied_fixes.append(fix)
            continue
        spans = [(e.start, e.end) for e in fix.edits]
        if any(taken.overlaps(span) for span in spans):
            continue  # the next pass sees this fix again, on the updated text
        for span in spans:
            taken.add(span)
        chosen.extend(fix.edits)
        chosen_fixes.add(fix)
        applied += 1
        if applied_fixes is not None:
            applied_fixes.append(fix)
    return apply_edits(text, chosen), applied


class _Spans:
    """Spans [start, end) taken by the edits chosen so far, sorted, no two overlapping: a
    new span is checked against its neighbours only (thousands of fixes in one file)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.spans: list[tuple[int, int]] = []

    def overlaps(self, span: tuple[int, int]) -> bool:
        index = bisect.bisect_left(self.starts, span[0])
        if index and _overlaps(span, self.spans[index - 1]):
            return True
        for other in self.spans[index:]:
            if other[0] > span[1] or (other[0] == span[1] and other[0] != span[0]):
                return False  # starts at or after the span's end: so do the rest
            if _overlaps(span, other):
                return True
        return False

    def add(self, span: tuple[int, int]) -> None:
        index = bisect.bisect_left(self.starts, span[0])
        self.starts.insert(index, span[0])
        self.spans.insert(index, span)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return (a[0] < b[1] and b[0] < a[1]) or a[0] == b[0]


def fix_source(
    data: bytes, path: str, settings: Settings, diff: bool = True
) -> tuple[FileResult, Optional[bytes]]:
    """Fix one file's bytes; returns the result (remaining violations) and the new bytes, or
    None when nothing changed or anything failed. `diff`: fill in `FileResult.diff` (difflib
    costs as much as an analysis on a file with thousands of fixes)."""
    if not may_hold_findings(data, settings.rule_infos_for(path)):
        return FileResult(path), None
    rules = settings.rules_for(path)
    try:
        source = decode(data)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message, error.line, error.column)), None
    text, fixed = source.text, 0
    unfixable: list[Violation] = []
    fixed_codes: dict[str, int] = {}
    for attempt in range(MAX_FIX_PASSES + 1):
        try:
            violations = analyze(text, path, rules, settings)
        except SourceError as error:
            if attempt == 0:
                err = FileError(error.message, error.line, error.column)
            else:  # our own fix broke the file: report, never write
                err = FileError(
                    "internal error: a fix produced code that does not parse "
                    f"({error.message}); file left untouched"
                )
            return FileResult(path, error=err, parsed=True), None
        fixes = [v.fix for v in violations if applicable(v, settings.unsafe_fixes) and v.fix]
        if attempt == 0:
            unfixable = [v for v in violations if not applicable(v, settings.unsafe_fixes)]
            first_pass = len(violations)
        if not fixes:
            break
        if attempt == MAX_FIX_PASSES:
            err = FileError(
                f"internal error: fixes did not converge after {MAX_FIX_PASSES} passes; "
                "file left untouched"
            )
            return FileResult(path, error=err, parsed=True), None
        code_of = {id(v.fix): v.code for v in violations if v.fix is not None}
        done: list[Fix] = []
        text, applied = apply_fixes(text, fixes, done)
        fixed += applied
        for fix in done:
            fixed_codes[code_of[id(fix)]] = fixed_codes.get(code_of[id(fix)], 0) + 1
    moot = max(first_pass - fixed - len(violations), 0)
    result = FileResult(path, violations, parsed=True, fixed=fixed, unfixable=unfixable, moot=moot)
    result.fixed_codes = fixed_codes
    if text == source.text:
        return result, None
    try:
        new_data = source.encode(text)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message), parsed=True), None
    result.changed = True
    if diff:
        result.diff = unified_diff(source, text, path)
    return result, new_data


def unified_diff(source: SourceText, new_text: str, path: str) -> str:
    old_lines = source.text.splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    return "".join(difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}"))


def fix_file(path: str, settings: Settings, write: bool = True) -> FileResult:
    try:
        data = read_bytes(path)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message))
    result, new_data = fix_source(data, path, settings, diff=not write)  # --diff writes nothing
    if new_data is not None and not write:
        # nothing is written: report what would remain where it is now, in the file on disk
        # (and count as moot only what these do not list: the counts still add up)
        result.moot = max(result.moot + len(result.violations) - len(result.unfixable), 0)
        result.violations = result.unfixable
    if new_data is not None and write:
        try:
            atomic_write(path, new_data, expected_on_disk=data)
        except SourceError as error:
            # not fixed: the file's findings as they are in it, and why it was not written
            found = check_source(data, path, settings)
            return FileResult(path, found.violations, WriteError(error.message), parsed=True)
    return result
