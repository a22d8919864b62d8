"""Jupyter notebooks (`.ipynb`): the code cells are checked as one module, fixed in place.

The data path for one notebook, top to bottom:

bytes -> prefilter -> JSON -> the notebook's language -> the code cells to check -> one
virtual module (magics replaced, a boundary statement between cells) -> engine.analyze ->
violations mapped back to (cell, line, column); for `fix`: engine.apply_fixes on the module,
only fixes whose edits stay inside single cells and never touch a magic -> the changed cells'
`source` values rewritten inside the original JSON text -> atomic write.

What is checked, and how it is reported:

- Cells are numbered as `cell N`: N is the 1-based index of the cell among all cells of the
  notebook, markdown and raw cells included (the position in the file, stable whatever the
  execution order; execution counts can be missing or repeated). Lines and columns are
  relative to the cell's source: `nb.ipynb:cell 3:2:5: MLF101 ...`.
- Only code cells are checked, in notebook order, as one module: a name imported or assigned
  in one cell (`import mlflow as mf`) resolves in the cells after it.
- A notebook whose `metadata.language_info.name` (or else `metadata.kernelspec.language`)
  is not Python is skipped. A notebook without either is taken to be Python.
- IPython syntax is skipped line by line, at the start of a logical line: line magics
  (`%matplotlib inline`, `x = %time f()`), shell escapes (`!pip install mlflow`,
  `files = !ls`), help (`?name`, `name?`, `name??`) and the autocall escapes (`/f`, `,f`, `;f`);
  with a backslash continuation, the following lines too.
- A cell starting with a cell magic (`%%bash`, `%%sql`, `%%writefile`, `%%html`, ...) is
  skipped entirely, except the magics whose body is Python run in the notebook's own
  namespace: `%%time`, `%%timeit`, `%%capture`, `%%prun`, `%%debug` and `%%memit`, whose
  body is checked. `%%python`/`%%script python` cells are skipped too: they run in a separate
  process, where the notebook's names are not defined. A cell whose VS Code language
  (`metadata.vscode.languageId`) is not Python is skipped.
- A cell whose first non-blank line is indented is dedented first, as IPython's
  `leading_indent` input transformer does before it runs the cell: that line's indentation is
  removed from every line that starts with it. Findings in such a cell are reported at their
  positions in the cell as written (columns include the removed indentation); `fix` never
  edits such a cell (a fix would have to be re-indented), so they are reported without `[*]`.
- A syntax error in a cell is one error for the notebook, positioned in that cell; nothing
  else is reported for that notebook (as for a Python file), and `fix` writes nothing. (Leaving
  the cell out and checking the others would miss the names it defines in the cells after it.)
- `# noqa` works on cell lines; `# flake8: noqa` in any code cell turns off the notebook.

What `fix` writes: only the `source` values of the cells it changed, in place in the JSON
text, as the notebook had them (a list of lines or one string, with the file's own
indentation and separators, `\\uXXXX` escapes when the file uses them); every other byte of
the file (outputs, metadata, ids, execution counts, key order, the trailing newline) is kept.
A fix is applied only when each of its edits lies inside one cell, touches no magic line and
no dedented (indented) cell:
statements of different cells are never merged (the boundary statement between cells also
keeps rules from grouping them). The unsafe MLF101 buffering fix may add `import time` next
to the first import of the notebook, in the cell that holds it.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import json
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Optional

from mlflow_lint.config import Settings
from mlflow_lint.engine import (
    MAX_FIX_PASSES,
    FileError,
    FileResult,
    analyze,
    applicable,
    apply_fixes,
    may_hold_findings,
)
from mlflow_lint.rule import Fix, Rule, Violation
from mlflow_lint.sourcefile import SourceError, first_newline, line_starts

SUFFIX = ".ipynb"
# Cell magics whose body is Python, executed in the notebook's namespace: their body is checked.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit"})
_BOM = "\ufeff"
# JSON may spell any character as \uXXXX; no writer does it for letters, digits or "_", but a
# notebook that does must not slip past the byte prefilter.
_ESCAPED_NAME_CHARACTER = re.compile(rb"\\u00[3-7][0-9a-fA-F]")
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_CELL_MAGIC = re.compile(r"[ \t]*%%([\w.-]*)")
_INDENT = re.compile(r"[ \t]+")
_MAGIC_START = frozenset("%!?/,;")


class CellError(SourceError):
    """A SourceError positioned in a cell (`cell` is 1-based, among all cells)."""

    def __init__(self, message: str, cell: Optional[int], line: int = 1, column: int = 0) -> None:
        super().__init__(message, line, column)
        self.cell = cell


def _file_error(error: SourceError) -> FileError:
    cell = error.cell if isinstance(error, CellError) else None
    return FileError(error.message, error.line, error.column, cell)


# --- entry points: called by engine.check_source / engine.fix_source for `*.ipynb` ------------
def check_source(data: bytes, path: str, settings: Settings) -> FileResult:
    rules = settings.rules_for(path)
    if not _may_hold_findings(data, rules):
        return FileResult(path)
    try:
        notebook = Notebook.parse(data)
        module = notebook.module(rules)
        if module is None:
            return FileResult(path)
        try:
            violations = analyze(module.text, path, rules, settings)
        except SourceError as error:
            raise module.locate_error(error) from None
    except SourceError as error:
        return FileResult(path, error=_file_error(error), parsed=True)
    return FileResult(path, module.map_violations(violations), parsed=True)


def fix_source(data: bytes, path: str, settings: Settings) -> tuple[FileResult, Optional[bytes]]:
    """As engine.fix_source, for a notebook: the result and the new bytes, or None when
    nothing changed or anything failed."""
    rules = settings.rules_for(path)
    if not _may_hold_findings(data, rules):
        return FileResult(path), None
    try:
        notebook = Notebook.parse(data)
        original = notebook.module(rules)
    except SourceError as error:
        return FileResult(path, error=_file_error(error), parsed=True), None
    if original is None:
        return FileResult(path), None
    module, fixed = original, 0
    fixed_codes: dict[str, int] = {}
    for attempt in range(MAX_FIX_PASSES + 1):
        try:
            violations = analyze(module.text, path, rules, settings)
        except SourceError as error:
            if attempt == 0:
                err = _file_error(module.locate_error(error))
            else:  # our own fix broke the notebook: report, never write
                err = FileError(
                    "internal error: a fix produced code that does not parse "
                    f"({error.message}); file left untouched"
                )
            return FileResult(path, error=err, parsed=True), None
        fixes = [
            v.fix
            for v in violations
            if v.fix is not None and applicable(v, settings.unsafe_fixes) and module.allows(v.fix)
        ]
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
        text, applied = apply_fixes(module.text, fixes, done)
        for fix in done:
            fixed_codes[code_of[id(fix)]] = fixed_codes.get(code_of[id(fix)], 0) + 1
        try:
            module = module.with_text(text)
        except SourceError as error:
            return FileResult(path, error=FileError(error.message), parsed=True), None
        fixed += applied
    result = FileResult(path, module.map_violations(violations), parsed=True, fixed=fixed)
    result.fixed_codes = fixed_codes
    changed = {
        cell.index: new
        for cell, old, new in zip(module.cells, original.sources, module.sources)
        if new != old
    }
    if not changed:
        return result, None
    try:
        new_data = notebook.with_sources(changed)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message), parsed=True), None
    result.changed = True
    result.diff = "".join(
        _cell_diff(path, index, notebook.sources[index], source)
        for index, source in sorted(changed.items())
    )
    return result, new_data


def _may_hold_findings(data: bytes, rules: tuple[type[Rule], ...]) -> bool:
    if may_hold_findings(data, rules):
        return True
    return bool(rules) and _ESCAPED_NAME_CHARACTER.search(data) is not None


def _cell_diff(path: str, index: int, old: str, new: str) -> str:
    def lines(text: str) -> list[str]:
        found = _LINES.findall(text)
        if found and not found[-1].endswith(("\n", "\r")):
            found[-1] += "\n"  # a cell's last line has no line break; a diff line needs one
        return found

    label = f"{path}:cell {index + 1}"
    return "".join(difflib.unified_diff(lines(old), lines(new), f"a/{label}", f"b/{label}"))


# --- the notebook file: JSON, read once, rewritten only where a cell's source changed ---------
class Notebook:
    def __init__(self, text: str, bom: bool, document: dict[str, Any]) -> None:
        self.text = text  # the JSON text, without a BOM
        self.bom = bom
        self.document = document
        cells = document["cells"]
        self.cells: list[Any] = cells
        self.sources: dict[int, str] = {}  # code cells' sources, by 0-based cell index
        for index, cell in enumerate(cells):
            if not isinstance(cell, dict):
                raise CellError("not a valid notebook: a cell is not a JSON object", index + 1)
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            if isinstance(source, list) and all(isinstance(line, str) for line in source):
                source = "".join(source)
            if not isinstance(source, str):
                raise CellError(
                    'not a valid notebook: the cell\'s "source" is neither a string nor a list '
                    "of strings",
                    index + 1,
                )
            self.sources[index] = source

    @classmethod
    def parse(cls, data: bytes) -> Notebook:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            column = error.start - (data.rfind(b"\n", 0, error.start) + 1)
            raise SourceError(
                "not a valid notebook: not UTF-8 (invalid byte "
                f"{data[error.start : error.start + 1]!r})",
                line,
                column,
            ) from None
        bom = text.startswith(_BOM)
        if bom:
            text = text[1:]
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise SourceError(
                f"not a valid notebook: invalid JSON: {error.msg}", error.lineno, error.colno - 1
            ) from None
        except RecursionError:
            raise SourceError("not a valid notebook: JSON nested too deeply") from None
        if not isinstance(document, dict):
            raise SourceError("not a valid notebook: the JSON document is not an object")
        version = document.get("nbformat")
        if "worksheets" in document or (isinstance(version, int) and version < 4):
            raise SourceError(
                f"nbformat {version} notebooks are not supported; convert the notebook with "
                "`jupyter nbconvert --to notebook --inplace`"
            )
        if not isinstance(document.get("cells"), list):
            raise SourceError('not a valid notebook: no "cells" list')
        return cls(text, bom, document)

    @property
    def is_python(self) -> bool:
        metadata = self.document.get("metadata")
        if not isinstance(metadata, dict):
            return True
        language = None
        info, kernel = metadata.get("language_info"), metadata.get("kernelspec")
        if isinstance(info, dict) and isinstance(info.get("name"), str):
            language = info["name"]
        elif isinstance(kernel, dict) and isinstance(kernel.get("language"), str):
            language = kernel["language"]
        return language is None or _is_python(language)

    def module(self, rules: tuple[type[Rule], ...]) -> Optional[VirtualModule]:
        """The code cells as one module; None when no cell can hold a finding. Raises
        CellError for a cell with a syntax error."""
        if not self.is_python:
            return None
        sources = [
            (index, source) for index, source in self.sources.items() if self._is_python(index)
        ]
        joined = "\n".join(source for _, source in sources)
        if not may_hold_findings(joined.encode("utf-8", "surrogatepass"), rules):
            return None  # "mlflow" only in markdown or outputs, say
        nonce = "nbcell"  # no MLflow name: the engine looks for those in the text
        while nonce in joined:
            nonce += "-"
        magics: list[str] = []
        cells = []
        for index, source in sources:
            cell = _virtual_cell(index, source, nonce, magics)
            if cell is not None:
                _check_syntax(cell)
                cells.append(cell)
        if not cells:
            return None
        return VirtualModule(cells, magics, nonce)

    def _is_python(self, index: int) -> bool:
        metadata = self.cells[index].get("metadata")
        vscode = metadata.get("vscode") if isinstance(metadata, dict) else None
        language = vscode.get("languageId") if isinstance(vscode, dict) else None
        return not isinstance(language, str) or _is_python(language)

    # --- writing --------------------------------------------------------------------------------
    def with_sources(self, changed: dict[int, str]) -> bytes:
        """The file's bytes with these cells' sources replaced, everything else as it was."""
        spans = _source_spans(self.text)
        style = _Style.of(self.text)
        pieces: list[str] = []
        last = 0
        for index in sorted(changed):
            if index not in spans:
                raise SourceError("internal error: a cell's source not found; file left untouched")
            start, end = spans[index]
            pieces.append(self.text[last:start])
            pieces.append(
                self._encode(self.cells[index]["source"], changed[index], start, end, style)
            )
            last = end
        pieces.append(self.text[last:])
        text = "".join(pieces)
        try:  # check what we wrote: the same document, with the new sources
            document = json.loads(text)
            cells = document["cells"]
            ok = len(cells) == len(self.cells) and all(
                _joined(cells[index].get("source")) == source for index, source in changed.items()
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            raise SourceError("internal error: rewriting the notebook failed; file left untouched")
        try:
            return ((_BOM if self.bom else "") + text).encode("utf-8")
        except UnicodeEncodeError as error:
            raise SourceError(f"fixed notebook cannot be encoded as UTF-8: {error}") from None

    def _encode(self, old: object, new: str, start: int, end: int, style: _Style) -> str:
        dumps = style.dumps
        if not isinstance(old, list):
            return dumps(new)
        items = [dumps(line) for line in _split_source(new)]
        if not items:
            return "[]"
        elements = list(_elements(self.text, start))
        if elements:  # reuse the layout the list had: what comes before, between, after items
            lead = self.text[start + 1 : elements[0][0]]
            trail = self.text[elements[-1][1] : end - 1]
            if len(elements) >= 2:
                separator = self.text[elements[0][1] : elements[1][0]]
            else:
                separator = "," + (lead if lead else style.item_space)
        elif style.indent is None:
            lead, trail, separator = "", "", "," + style.item_space
        else:  # an empty list `[]`: lay out as json.dumps(indent=...) does, at the key's depth
            line_start = self.text.rfind("\n", 0, start) + 1
            key_indent = re.match(r"[ \t]*", self.text[line_start:start])
            depth = key_indent.group() if key_indent else ""
            lead = style.newline + depth + style.indent
            trail = style.newline + depth
            separator = "," + lead
        return "[" + lead + separator.join(items) + trail + "]"


def _is_python(language: str) -> bool:
    return language.strip().lower().startswith(("python", "ipython"))


def _joined(source: object) -> Optional[str]:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return None


def _split_source(source: str) -> list[str]:
    """Lines as Jupyter stores them: each with its line break, the last one without."""
    return [line for line in re.split(r"(?<=\n)", source) if line]


@dataclass(frozen=True)
class _Style:
    """How the file writes JSON, for the values we write into it."""

    ensure_ascii: bool  # non-ASCII characters as \\uXXXX escapes
    indent: Optional[str]  # one level of indentation; None for a file on one line
    newline: str
    item_space: str  # after "," in a one-line file

    @classmethod
    def of(cls, text: str) -> _Style:
        escaped = re.search(r"(?<!\\)\\u(?!00[0-7])[0-9a-fA-F]{4}", text) is not None
        layout = re.match(r"\s*\{(\r\n|\r|\n)([ \t]*)", text)
        return cls(
            ensure_ascii=text.isascii() and escaped,
            indent=layout.group(2) if layout else None,
            newline=first_newline(text),
            item_space=" " if re.search(r'",\s"', text) or ": " in text else "",
        )

    def dumps(self, value: str) -> str:
        return json.dumps(value, ensure_ascii=self.ensure_ascii)


# The JSON text was validated by json.loads: this scanner only finds where values are.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRUCTURE = re.compile(r'["\[\]{}]')
_SCALAR = re.compile(r"[^\s,\]}]+")
_SPACE = re.compile(r"\s*")


def _skip_space(text: str, position: int) -> int:
    match = _SPACE.match(text, position)
    return match.end() if match else position


def _value_end(text: str, position: int) -> int:
    first = text[position]
    if first == '"':
        match = _STRING.match(text, position)
        assert match is not None
        return match.end()
    if first not in "[{":
        match = _SCALAR.match(text, position)
        assert match is not None
        return match.end()
    depth = 0
    while True:
        match = _STRUCTURE.search(text, position)
        assert match is not None
        if match.group() == '"':
            string = _STRING.match(text, match.start())
            assert string is not None
            position = string.end()
            continue
        depth += 1 if match.group() in "[{" else -1
        position = match.end()
        if depth == 0:
            return position


def _members(text: str, position: int) -> Iterator[tuple[str, int, int]]:
    """(key, value start, value end) of the object starting at `position`."""
    position = _skip_space(text, position + 1)
    while text[position] != "}":
        key = _STRING.match(text, position)
        assert key is not None
        position = _skip_space(text, key.end()) + 1  # the ":"
        start = _skip_space(text, position)
        end = _value_end(text, start)
        yield json.loads(key.group()), start, end
        position = _skip_space(text, end)
        if text[position] == ",":
            position = _skip_space(text, position + 1)


def _elements(text: str, position: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each element of the array starting at `position`."""
    position = _skip_space(text, position + 1)
    while text[position] != "]":
        end = _value_end(text, position)
        yield position, end
        position = _skip_space(text, end)
        if text[position] == ",":
            position = _skip_space(text, position + 1)


def _source_spans(text: str) -> dict[int, tuple[int, int]]:
    """Where each cell's "source" value is in the JSON text, by 0-based cell index (the last
    one of duplicate keys, as json.loads keeps it)."""
    spans: dict[int, tuple[int, int]] = {}
    top = _skip_space(text, 0)
    for key, start, _ in _members(text, top):
        if key != "cells":
            continue
        spans = {}
        for index, (cell_start, _) in enumerate(_elements(text, start)):
            for cell_key, value_start, value_end in _members(text, cell_start):
                if cell_key == "source":
                    spans[index] = (value_start, value_end)
    return spans


# --- the virtual module -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Cell:
    index: int  # 0-based, among all cells of the notebook
    text: str  # the cell in the module: magic lines replaced by placeholders, ends with "\n"
    added_newline: bool  # the cell's source does not end with a line break: one was added
    # A dedented cell (IPython's leading_indent): the columns removed from each of its lines,
    # and its source as the notebook has it. No fix may edit such a cell.
    shifts: tuple[int, ...] = ()
    original: Optional[str] = None

    def source(self, magics: Sequence[str], placeholder: re.Pattern[str]) -> str:
        """The cell's source: placeholders back to the magic lines they stand for."""
        if self.original is not None:
            return self.original
        text = placeholder.sub(lambda m: magics[int(m.group(1))], self.text)
        return text[:-1] if self.added_newline else text

    def shift(self, line: int) -> int:
        """The columns the dedent removed from this (1-based) line of the cell."""
        return self.shifts[line - 1] if 0 < line <= len(self.shifts) else 0


def _placeholder(indent: str, nonce: str, number: int) -> str:
    # A statement, so that magics separate statements as they do in IPython; the comment makes
    # the line unique, to find it again after fixes.
    return f"{indent}pass  # {nonce}:magic:{number}\n"


def _virtual_cell(index: int, source: str, nonce: str, magics: list[str]) -> Optional[_Cell]:
    """The cell as Python for the module, or None when it is not Python (a cell magic)."""
    lines: list[str] = _LINES.findall(source)
    common = _leading_indent(lines)  # IPython removes it before anything else
    shifts: tuple[int, ...] = ()
    if common:
        shifts = tuple(len(common) if line.startswith(common) else 0 for line in lines)
        lines = [line[shift:] for line, shift in zip(lines, shifts)]
    out: list[str] = []
    number = 0
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is not None:
        cell_magic = _CELL_MAGIC.match(lines[first])
        if cell_magic is not None:
            if cell_magic.group(1) not in PYTHON_CELL_MAGICS:
                return None
            out.extend(lines[:first])
            out.append(_placeholder("", nonce, len(magics)))
            magics.append(lines[first])
            number = first + 1
    quote: Optional[str] = None
    depth = 0
    continued = False
    while number < len(lines):
        line = lines[number]
        number += 1
        if quote is None and depth == 0 and not continued:
            scan = _scan(line, None, 0)
            if scan.magic:
                indent = line[: len(line) - len(line.lstrip(" \t"))]
                out.append(_placeholder(indent, nonce, len(magics)))
                magics.append(line)
                while _ends_with_backslash(line) and number < len(lines):
                    line = lines[number]
                    number += 1
                    out.append(_placeholder(indent, nonce, len(magics)))
                    magics.append(line)
                continue
        else:
            scan = _scan(line, quote, depth)
        quote, depth, continued = scan.quote, scan.depth, scan.continued
        out.append(line)
    text = "".join(out)
    added = bool(text) and not text.endswith(("\n", "\r"))
    text = text + "\n" if added else text
    if common:
        return _Cell(index, text, added, shifts, source)
    return _Cell(index, text, added)


def _leading_indent(lines: Sequence[str]) -> str:
    """What IPython's `leading_indent` input transformer removes from the lines of a cell (it
    runs after `leading_empty_lines`): the indentation of the first non-blank line, taken off
    every line that starts with it ("" when that line is not indented)."""
    first = next((line for line in lines if not line.isspace()), "")
    match = _INDENT.match(first)
    return match.group() if match else ""


def _ends_with_backslash(line: str) -> bool:
    return line.rstrip("\r\n").endswith("\\")


@dataclass(frozen=True)
class _Scan:
    quote: Optional[str]  # the string still open at the end of the line
    depth: int  # brackets still open
    continued: bool  # a backslash continues the line
    magic: bool  # IPython syntax: a magic, shell escape, help, or an assignment from one


def _scan(line: str, quote: Optional[str], depth: int) -> _Scan:
    """Python's tokens roughly, enough to know where logical lines start and which are IPython
    syntax (Python has no `?` token, never starts a statement with `%`, `!`, `/`, `,` or `;`,
    and never has `%` or `!` right after `=`)."""
    stripped = line.lstrip(" \t")
    magic = quote is None and depth == 0 and stripped[:1] in _MAGIC_START
    comment = False
    previous = ""  # the last character of code (not string, not space) before this one
    position, length = 0, len(line)
    while position < length:
        char = line[position]
        if quote is not None:
            if char == "\\":
                position += 3 if line.startswith("\r\n", position + 1) else 2
                continue
            if line.startswith(quote, position):
                position += len(quote)
                previous, quote = quote[0], None
                continue
            if len(quote) == 1 and char in "\r\n":
                quote = None  # an unterminated string: the parser reports it
            position += 1
            continue
        if char == "#":
            comment = True
            break
        if char in "\"'":
            quote = line[position : position + 3]
            if quote not in ('"""', "'''"):
                quote = char
            position += len(quote)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char == "?" or (char in "%!" and previous == "="):
            magic = True
        if not char.isspace():
            previous = char
        position += 1
    continued = not comment and quote is None and _ends_with_backslash(line)
    return _Scan(quote, depth, continued, magic)


def _check_syntax(cell: _Cell) -> None:
    """Each cell must parse on its own, as IPython compiles it: a syntax error is positioned
    in its cell, and cells cannot run into each other (a string left open in one cell)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings: the module's parse shows them
            ast.parse(cell.text)
    except SyntaxError as error:
        line = error.lineno or 1
        column = max((error.offset or 1) - 1, 0) + cell.shift(line)
        raise CellError(f"SyntaxError: {error.msg}", cell.index + 1, line, column) from None
    except (RecursionError, MemoryError):
        raise CellError(
            "too deeply nested to analyse (Python's parser gave up)", cell.index + 1
        ) from None
    except ValueError as error:
        raise CellError(f"cannot parse: {error}", cell.index + 1) from None


class VirtualModule:
    """The checked code cells as one Python module: cells joined by a boundary statement."""

    def __init__(self, cells: list[_Cell], magics: list[str], nonce: str) -> None:
        self.cells = cells
        self.magics = magics
        self.nonce = nonce
        self.separator = f"pass  # {nonce}:cell\n"
        self.placeholder = re.compile(rf"^[ \t]*pass  # {re.escape(nonce)}:magic:(\d+)\n", re.M)
        self.text = self.separator.join(cell.text for cell in cells)
        self.first_lines: list[int] = []  # the module line where each cell starts
        self.line_counts: list[int] = []
        self.protected: list[tuple[int, int]] = []  # spans no fix may touch
        offset, line = 0, 1
        for number, cell in enumerate(cells):
            if number:
                self.protected.append((offset, offset + len(self.separator)))
                offset += len(self.separator)
                line += 1
            self.first_lines.append(line)
            self.protected.extend(
                (offset + m.start(), offset + m.end()) for m in self.placeholder.finditer(cell.text)
            )
            if cell.added_newline:
                self.protected.append((offset + len(cell.text) - 1, offset + len(cell.text)))
            if cell.original is not None:  # dedented: all of it, an insertion at its end too
                self.protected.append((offset, offset + len(cell.text) + 1))
            count = len(line_starts(cell.text)) - 1
            self.line_counts.append(count)
            offset += len(cell.text)
            line += count
        # the cells' sources as the notebook has them (magic lines back in place)
        self.sources = [cell.source(magics, self.placeholder) for cell in cells]

    def with_text(self, text: str) -> VirtualModule:
        """The module after fixes were applied to its text (never to a protected span)."""
        parts = text.split(self.separator)
        found = sorted(int(m.group(1)) for m in self.placeholder.finditer(text))
        if len(parts) != len(self.cells) or found != list(range(len(self.magics))):
            raise SourceError("internal error: a fix moved a cell boundary; file left untouched")
        cells = []
        for cell, part in zip(self.cells, parts):
            if cell.added_newline and not part.endswith("\n"):
                raise SourceError("internal error: a fix moved a cell's end; file left untouched")
            if cell.original is not None and part != cell.text:
                raise SourceError(
                    "internal error: a fix edited a dedented cell; file left untouched"
                )
            cells.append(replace(cell, text=part))
        return VirtualModule(cells, self.magics, self.nonce)

    # --- positions --------------------------------------------------------------------------
    def _cell_at(self, line: int) -> tuple[int, int]:
        """(position in self.cells, line in that cell) of a module line."""
        number = max(bisect.bisect_right(self.first_lines, line) - 1, 0)
        local = line - self.first_lines[number] + 1
        return number, max(1, min(local, self.line_counts[number]))

    def locate_error(self, error: SourceError) -> CellError:
        number, line = self._cell_at(error.line)
        cell = self.cells[number]
        return CellError(error.message, cell.index + 1, line, error.column + cell.shift(line))

    def allows(self, fix: Fix) -> bool:
        """Every edit inside one cell, away from magic lines and the ends of cells."""
        return not any(
            (edit.start < end and start < edit.end) or edit.start == start
            for edit in fix.edits
            for start, end in self.protected
        )

    def map_violations(self, violations: Sequence[Violation]) -> list[Violation]:
        """Violations positioned in cells; fixes the module does not allow are dropped."""
        mapped = []
        for violation in violations:
            number, line = self._cell_at(violation.line)
            end_number, end_line = self._cell_at(violation.end_line)
            cell = self.cells[number]
            end_column = violation.end_column + cell.shift(end_line)
            if end_number != number:  # never seen; clamp to the end of the start's cell
                end_line = self.line_counts[number]
                end_column = len(self._line(number, end_line).rstrip("\r\n"))
            fix = violation.fix
            if fix is not None:
                fix = self._map_fix(fix) if self.allows(fix) else None
            mapped.append(
                replace(
                    violation,
                    line=line,
                    column=violation.column + cell.shift(line),
                    end_line=end_line,
                    end_column=end_column,
                    fix=fix,
                    cell=cell.index + 1,
                )
            )
        mapped.sort(key=lambda v: (v.cell or 0, v.line, v.column, v.code))
        return mapped

    def _line(self, number: int, line: int) -> str:
        lines: list[str] = _LINES.findall(self.sources[number])
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def _map_fix(self, fix: Fix) -> Fix:
        """Edits positioned in their cell: lines, columns and offsets in the cell's source."""
        edits = []
        for edit in fix.edits:
            number, start_line = self._cell_at(edit.start_line)
            _, end_line = self._cell_at(edit.end_line)
            starts = line_starts(self.sources[number])
            edits.append(
                replace(
                    edit,
                    start=starts[start_line - 1] + edit.start_column,
                    end=starts[end_line - 1] + edit.end_column,
                    start_line=start_line,
                    end_line=end_line,
                    cell=self.cells[number].index + 1,
                )
            )
        return replace(fix, edits=tuple(edits))
