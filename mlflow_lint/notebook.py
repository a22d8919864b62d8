"""Jupyter notebooks (`.ipynb`): the code cells are checked as one module, fixed in place.

The data path for one notebook, top to bottom (docs/notebooks.md says it for users):

bytes -> JSON, validated (every `.ipynb` costs one JSON parse: a corrupt notebook is an error,
never "nothing to check") -> the notebook's language -> each code cell classified (Python in
the notebook's namespace; a Python program of its own: `%%writefile x.py`, `%%python`; or
another language: skipped, with a note for `--verbose`) -> the prefilter on those cells ->
virtual modules (magic lines replaced by placeholders, a boundary statement between cells;
each cell must parse on its own, a cell that does not is one error and is left out) ->
engine.analyze -> violations mapped back to (cell, line, column); for `fix`:
engine.apply_fixes on each module, only fixes whose edits stay inside single cells and never
touch a magic -> the changed cells' `source` values rewritten inside the original JSON text ->
atomic write (by dispatch.fix_file).

What is checked, and how it is reported:

- Cells are numbered as `cell N`: N is the 1-based index of the cell among all cells of the
  notebook, markdown and raw cells included (the position in the file, stable whatever the
  execution order; execution counts can be missing or repeated). Lines and columns are
  relative to the cell's source: `nb.ipynb:cell 3:2:5: MLF101 ...`.
- Code cells are checked in notebook order as one module: a name imported or assigned in one
  cell (`import mlflow as mf`) resolves in the cells after it.
- A notebook whose language (`metadata.language_info.name`, else
  `metadata.kernelspec.language`, else the Databricks notebook's `language`) is not Python is
  skipped, and reported as skipped, unless a code cell's VS Code language says Python (see
  below). A notebook without any of them is taken to be Python.
- IPython syntax is skipped line by line, at the start of a logical line, as IPython's input
  transformers find it: line magics (`%matplotlib inline`, `x = %time f()`), shell escapes
  (`!pip install mlflow`, `files = !ls`), help (`?name`, `name?`, `name??`) and the autocall
  escapes (`/f`, `,f`, `;f`); with a backslash continuation, the following lines too. So is
  a package manager's line magic called without its `%` (`pip install mlflow`), which
  IPython's automagic runs as `%pip` when the cell executes.
- A cell starting with a cell magic: `%%time`, `%%timeit`, `%%capture`, `%%prun`, `%%debug`
  and `%%memit` run their body in the notebook's namespace: it is checked with the other
  cells. `%%writefile x.py` (`%%file`) writes its body to a Python file, and `%%python`,
  `%%python3`, `%%pypy`, `%%script python` run it as a program of its own: the body is checked
  as a module of its own (the notebook's names are not defined there; no IPython syntax).
  Every other cell magic (`%%bash`, `%%sql`, `%%html`, `%%writefile x.yaml`, `%%writefile -a`
  which appends a part of a file) is skipped.
- Databricks: a cell whose first line is `%sql`, `%scala`, `%r`, `%sh`, `%md`, `%md-sandbox`
  or `%fs` is in that language: skipped. (`%sql query` on one line in a notebook that is not
  a Databricks notebook is ipython-sql's line magic.) `%python` cells are Python; `%run` and
  `%pip` are line magics in both worlds. A cell whose VS Code language
  (`metadata.vscode.languageId`) is not Python is skipped; one whose VS Code language is
  Python is checked, also in a notebook whose metadata names another language (a polyglot
  notebook, or an editor that saved the wrong one), where the cells that name no language of
  their own are taken to be in the notebook's and skipped.
- A cell whose first non-blank line is indented is dedented first, as IPython's
  `leading_indent` input transformer does before it runs the cell: that line's indentation is
  removed from every line that starts with it. Findings in such a cell are reported at their
  positions in the cell as written (columns include the removed indentation); `fix` never
  edits such a cell (a fix would have to be re-indented), so they are reported without `[*]`.
- A cell with a syntax error is one error for the notebook, positioned in that cell; the other
  cells are checked without it (names it defines are unknown to them). `fix` writes nothing
  to such a notebook, as to a Python file with a syntax error, and says so.
- `# noqa` works on cell lines; `# flake8: noqa` in any code cell turns off the notebook's
  cells that share its namespace.

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
import keyword
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
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

NBFORMAT = 4  # the major version of the notebook format read and written here
# Cell magics whose body is Python, executed in the notebook's namespace: their body is checked.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit"})
# Cell magics that run their body as a Python program of its own: checked as its own module.
SCRIPT_CELL_MAGICS = frozenset({"python", "python2", "python3", "pypy", "pypy3"})
WRITEFILE_MAGICS = frozenset({"writefile", "file"})
# Databricks: a cell whose first line is one of these magics is entirely in that language.
DATABRICKS_LANGUAGES = {
    "sql": "SQL",
    "scala": "Scala",
    "r": "R",
    "sh": "shell",
    "md": "Markdown",
    "md-sandbox": "Markdown",
    "fs": "a Databricks file-system command",
}
DATABRICKS_NOTEBOOK = "application/vnd.databricks.v1+notebook"
DATABRICKS_CELL = "application/vnd.databricks.v1+cell"
_BOM = "\ufeff"
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_CELL_MAGIC = re.compile(r"[ \t]*%%([\w.-]*)")
_INDENT = re.compile(r"[ \t]+")
_MAGIC_START = frozenset("%!?/,;")
# IPython's automagic: a line magic called without its `%` (`pip install mlflow`), which the
# shell runs as `%pip install mlflow`. Only package managers' magics, followed by a word
# that is not a Python keyword (`pip in names` is Python).
_AUTOMAGIC = re.compile(r"(pip|conda|mamba|micromamba)[ \t]+([A-Za-z][\w-]*)")
_PARSE_ERRORS = ("SyntaxError", "libcst cannot parse")  # errors that have a cell and a line


class CellError(SourceError):
    """A SourceError positioned in a cell (`cell` is 1-based, among all cells)."""

    def __init__(self, message: str, cell: Optional[int], line: int = 1, column: int = 0) -> None:
        super().__init__(message, line, column)
        self.cell = cell


def _file_error(error: SourceError, suffix: str = "") -> FileError:
    cell = error.cell if isinstance(error, CellError) else None
    return FileError(error.message + suffix, error.line, error.column, cell)


# --- entry points: called by dispatch.py for `*.ipynb` -----------------------------------------
@dataclass
class _Checked:
    """The notebook's modules, their findings, and the cells that do not parse."""

    modules: list[VirtualModule] = field(default_factory=list)
    violations: list[list[Violation]] = field(default_factory=list)  # per module
    errors: list[SourceError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def error(self, suffix: str = "") -> Optional[FileError]:
        """One error for the notebook: the first broken cell, naming the others."""
        if not self.errors:
            return None
        first, others = self.errors[0], self.errors[1:]
        cells = [str(e.cell) for e in others if isinstance(e, CellError) and e.cell]
        if cells:
            suffix = (
                f" (cell{'s' if len(cells) > 1 else ''} {', '.join(cells)} do not parse either)"
                + suffix
            )
        return _file_error(first, suffix)

    def mapped(self) -> list[Violation]:
        found = [
            v
            for module, violations in zip(self.modules, self.violations)
            for v in module.map_violations(violations)
        ]
        found.sort(key=lambda v: (v.cell or 0, v.line, v.column, v.code))
        return found


def _check(
    notebook: Notebook, path: str, rules: tuple[type[Rule], ...], settings: Settings
) -> _Checked:
    """Every module of the notebook analysed. A cell the engine cannot parse (what CPython's
    parser accepts, libcst may not) is left out like a cell with a syntax error, and the rest
    analysed again; any other failure is an error of its module."""
    unparsed: dict[int, SourceError] = {}  # by 1-based cell
    while True:
        checked = notebook.prepare(rules, frozenset(unparsed))
        retry = False
        for module in checked.modules:
            try:
                violations = analyze(module.text, path, rules, settings, boundary=module.boundary)
            except SourceError as error:
                located = module.locate_error(error)
                cell = located.cell
                if error.message.startswith(_PARSE_ERRORS) and cell and cell not in unparsed:
                    unparsed[cell] = located
                    retry = True
                    break
                checked.errors.append(located)
                violations = []
            checked.violations.append(violations)
        if not retry:
            checked.errors.extend(unparsed.values())
            checked.errors.sort(key=lambda e: (getattr(e, "cell", 0) or 0, e.line, e.column))
            return checked


def check_source(data: bytes, path: str, settings: Settings) -> FileResult:
    try:
        notebook = Notebook.parse(data)
    except SourceError as error:
        return FileResult(path, error=_file_error(error))
    return check_notebook(notebook, path, settings)


def check_notebook(notebook: Notebook, path: str, settings: Settings) -> FileResult:
    """The findings of a notebook already read (a file, or an editor's notebook document)."""
    skipped = notebook.skipped
    if skipped:
        return FileResult(path, parsed=True, skipped=skipped)
    rules = settings.rules_for(path)
    checked = _check(notebook, path, rules, settings)
    parsed = bool(checked.modules or checked.errors)
    return FileResult(path, checked.mapped(), checked.error(), parsed=parsed, notes=checked.notes)


def fix_source(data: bytes, path: str, settings: Settings) -> tuple[FileResult, Optional[bytes]]:
    """As engine.fix_source, for a notebook: the result and the new bytes, or None when
    nothing changed or anything failed. A notebook with a cell that does not parse is not
    fixed: its findings are reported where they are."""
    try:
        notebook = Notebook.parse(data)
    except SourceError as error:
        return FileResult(path, error=_file_error(error)), None
    if notebook.skipped:
        return FileResult(path, parsed=True, skipped=notebook.skipped), None
    rules = settings.rules_for(path)
    checked = _check(notebook, path, rules, settings)
    first = checked.mapped()
    unfixable = [v for v in first if not applicable(v, settings.unsafe_fixes)]
    if checked.errors:
        broken = checked.error("; nothing fixed in this notebook")
        return FileResult(path, first, broken, parsed=True, notes=checked.notes), None
    changed: dict[int, str] = {}
    remaining: list[Violation] = []
    fixed = 0
    fixed_codes: dict[str, int] = {}
    for original, violations in zip(checked.modules, checked.violations):
        try:
            module, left, applied = _fix_module(
                original, violations, path, rules, settings, fixed_codes
            )
        except SourceError as error:
            return FileResult(path, error=FileError(error.message), parsed=True), None
        fixed += applied
        remaining.extend(module.map_violations(left))
        for cell, old, new in zip(module.cells, original.sources, module.sources):
            if new != old:
                changed[cell.index] = new
    remaining.sort(key=lambda v: (v.cell or 0, v.line, v.column, v.code))
    result = FileResult(
        path,
        remaining,
        parsed=bool(checked.modules),
        fixed=fixed,
        unfixable=unfixable,
        notes=checked.notes,
        moot=max(len(first) - fixed - len(remaining), 0),
    )
    result.fixed_codes = fixed_codes
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


def _fix_module(
    module: VirtualModule,
    violations: list[Violation],
    path: str,
    rules: tuple[type[Rule], ...],
    settings: Settings,
    fixed_codes: dict[str, int],
) -> tuple[VirtualModule, list[Violation], int]:
    """Apply, re-parse, re-check until stable: the fixed module, what remains, the number of
    fixes applied (counted by rule into `fixed_codes`). Raises SourceError (never a partial
    result) when a fix breaks the code or the fixes do not converge."""
    fixed = 0
    for attempt in range(MAX_FIX_PASSES + 1):
        if attempt:
            try:
                violations = analyze(module.text, path, rules, settings, boundary=module.boundary)
            except SourceError as error:  # our own fix broke the notebook: report, never write
                raise SourceError(
                    "internal error: a fix produced code that does not parse "
                    f"({error.message}); file left untouched"
                ) from None
        fixes = [
            v.fix
            for v in violations
            if v.fix is not None and applicable(v, settings.unsafe_fixes) and module.allows(v.fix)
        ]
        if not fixes:
            return module, violations, fixed
        if attempt == MAX_FIX_PASSES:
            break
        code_of = {id(v.fix): v.code for v in violations if v.fix is not None}
        done: list[Fix] = []
        text, applied = apply_fixes(module.text, fixes, done)
        for fix in done:
            fixed_codes[code_of[id(fix)]] = fixed_codes.get(code_of[id(fix)], 0) + 1
        module = module.with_text(text)
        fixed += applied
    raise SourceError(
        f"internal error: fixes did not converge after {MAX_FIX_PASSES} passes; file left untouched"
    )


def _cell_diff(path: str, index: int, old: str, new: str) -> str:
    def lines(text: str) -> list[str]:
        found = _LINES.findall(text)
        if found and not found[-1].endswith(("\n", "\r")):
            found[-1] += "\n"  # a cell's last line has no line break; a diff line needs one
        return found

    label = f"{path}:cell {index + 1}"
    return "".join(difflib.unified_diff(lines(old), lines(new), f"a/{label}", f"b/{label}"))


# --- the notebook file: JSON, read once, rewritten only where a cell's source changed ---------
def _invalid(message: str, cell: Optional[int] = None) -> SourceError:
    if cell is None:
        return SourceError(f"not a valid notebook: {message}")
    return CellError(f"not a valid notebook: {message}", cell)


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
                raise _invalid("a cell is not a JSON object", index + 1)
            kind = cell.get("cell_type")
            if not isinstance(kind, str):
                raise _invalid('a cell has no "cell_type"', index + 1)
            source = _joined(cell.get("source"))
            if source is None:
                raise _invalid(
                    'the cell\'s "source" is missing, or neither a string nor a list of strings',
                    index + 1,
                )
            if kind == "code":
                self.sources[index] = source

    @classmethod
    def of_cells(cls, cells: Sequence[tuple[str, str, str]], metadata: Any = None) -> Notebook:
        """A notebook from (cell_type, source, language) triples, as an editor has it."""
        document: dict[str, Any] = {
            "nbformat": NBFORMAT,
            "nbformat_minor": 5,
            "metadata": metadata if isinstance(metadata, dict) else {},
            "cells": [
                {
                    "cell_type": kind,
                    "source": source,
                    "metadata": {"vscode": {"languageId": language}} if language else {},
                }
                for kind, source, language in cells
            ],
        }
        return cls(json.dumps(document), False, document)

    @classmethod
    def parse(cls, data: bytes) -> Notebook:
        """The notebook, validated as far as this module reads it. Raises SourceError."""
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
        if not text.strip():
            raise _invalid("the file is empty")
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise SourceError(
                f"not a valid notebook: invalid JSON: {error.msg}", error.lineno, error.colno - 1
            ) from None
        except RecursionError:
            raise _invalid("JSON nested too deeply") from None
        if not isinstance(document, dict):
            raise _invalid(f"the JSON document is {_json_kind(document)}, not an object")
        version = document.get("nbformat")
        if "worksheets" in document or (isinstance(version, int) and version < NBFORMAT):
            raise SourceError(
                f"nbformat {version} notebooks are not supported; convert the notebook with "
                "`jupyter nbconvert --to notebook --inplace`"
            )
        if version is None:
            raise _invalid('no "nbformat" version')
        if not _is_int(version):
            raise _invalid(f'"nbformat" is {_json_kind(version)}, not a version number')
        if version > NBFORMAT:
            raise SourceError(
                f"nbformat {version} notebooks are not supported (mlflow-lint reads nbformat "
                f"{NBFORMAT}); nothing checked or written"
            )
        if not isinstance(document.get("cells"), list):
            raise _invalid('no "cells" list')
        if not isinstance(document.get("metadata", {}), dict):
            raise _invalid('"metadata" is not an object')
        return cls(text, bom, document)

    @property
    def language(self) -> Optional[str]:
        """The notebook's language as its metadata says, if it says."""
        metadata = self.document.get("metadata") or {}
        info, kernel = metadata.get("language_info"), metadata.get("kernelspec")
        databricks = metadata.get(DATABRICKS_NOTEBOOK)
        for holder, key in ((info, "name"), (kernel, "language"), (databricks, "language")):
            if isinstance(holder, dict) and isinstance(holder.get(key), str):
                return str(holder[key])
        return None

    @property
    def skipped(self) -> str:
        """Why the notebook is not checked at all ("" when it is)."""
        language = self.language
        if language is None or _is_python(language) or self._marks_python_cells():
            return ""
        return f"not a Python notebook (its language is {language})"

    def _marks_python_cells(self) -> bool:
        """A code cell says it is Python (VS Code's `languageId`), whatever the notebook's
        metadata says: a polyglot notebook, or one whose editor saved the wrong language."""
        return any(
            language is not None and _is_python(language)
            for language in map(self._language_id, self.sources)
        )

    @property
    def is_databricks(self) -> bool:
        metadata = self.document.get("metadata") or {}
        return DATABRICKS_NOTEBOOK in metadata or any(
            isinstance(cell.get("metadata"), dict) and DATABRICKS_CELL in cell["metadata"]
            for cell in self.cells
        )

    def prepare(
        self, rules: tuple[type[Rule], ...], excluded: frozenset[int] | set[int] = frozenset()
    ) -> _Checked:
        """The code cells as modules: the cells that share the notebook's namespace as one,
        and each cell that is a Python program of its own as another. Cells that do not
        parse become errors, cells in other languages notes; `excluded` (1-based) are left
        out as cells that do not parse."""
        checked = _Checked()
        databricks = self.is_databricks
        shared: list[tuple[int, str]] = []
        own: list[tuple[int, str]] = []
        # the notebook's language, where it is not Python: that of cells naming none
        foreign = self.language
        if foreign is not None and _is_python(foreign):
            foreign = None
        for index, source in self.sources.items():
            language = self._cell_language(index, foreign)
            if language is not None:
                kind, why = "skip", f"its language is {language}"
            else:
                kind, why = _classify(source, databricks)
            if kind == "skip":
                checked.notes.append(f"cell {index + 1}: skipped: {why}")
            elif kind == "own":
                checked.notes.append(f"cell {index + 1}: {why}")
                own.append((index, source))
            else:
                shared.append((index, source))
        joined = "\n".join(source for _, source in shared + own)
        if not rules or not may_hold_findings(joined.encode("utf-8", "surrogatepass"), rules):
            return checked  # "mlflow" only in markdown or outputs, say
        nonce = "nbcell"  # no MLflow name: the engine looks for those in the text
        while nonce in joined:
            nonce += "-"
        groups = [(shared, True)] + [([cell], False) for cell in own]
        for group, ipython in groups:
            magics: list[str] = []
            cells = []
            for index, source in group:
                cell = _virtual_cell(index, source, nonce, magics, ipython)
                if index + 1 in excluded:
                    continue  # the engine could not parse it: _check reports it
                try:
                    _check_syntax(cell)
                except CellError as error:
                    checked.errors.append(error)
                    continue
                cells.append(cell)
            if cells:
                checked.modules.append(VirtualModule(cells, magics, nonce))
        return checked

    def _cell_language(self, index: int, notebook: Optional[str]) -> Optional[str]:
        """The cell's language when it is not Python: its own (VS Code's `languageId`), else
        the notebook's (`notebook`, given when that is not Python)."""
        language = self._language_id(index)
        if language is None:
            return notebook
        return None if _is_python(language) else language

    def _language_id(self, index: int) -> Optional[str]:
        """The language VS Code stored for the cell (`metadata.vscode.languageId`), if any."""
        metadata = self.cells[index].get("metadata")
        vscode = metadata.get("vscode") if isinstance(metadata, dict) else None
        language = vscode.get("languageId") if isinstance(vscode, dict) else None
        return language if isinstance(language, str) else None

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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _classify(source: str, databricks: bool) -> tuple[str, str]:
    """How a code cell runs, from its first line: ("notebook", "") for Python in the notebook's
    namespace, ("own", what) for a Python program of its own, ("skip", why) otherwise."""
    first = next((line for line in _LINES.findall(source) if line.strip()), "")
    head = first.strip()
    if head.startswith("%%"):
        name, _, args = head[2:].partition(" ")
        words = args.split()
        if name in PYTHON_CELL_MAGICS:
            return "notebook", ""
        interpreter = os.path.basename(words[0]) if name == "script" and words else ""
        if name in SCRIPT_CELL_MAGICS or interpreter.startswith(("python", "pypy")):
            return "own", f"`%%{name}` runs it as a Python program of its own: checked alone"
        if name in WRITEFILE_MAGICS:
            targets = [w for w in words if not w.startswith("-")]
            target = targets[-1].strip("'\"") if targets else ""
            if "-a" in words or "--append" in words:
                return "skip", f"`%%{name} -a` appends a part of {target or 'a file'}"
            if target.endswith(".py"):
                return "own", f"`%%{name}` writes {target}: checked as that file"
            return "skip", f"`%%{name}` writes {target or 'a file'}, not Python"
        return "skip", f"`%%{name}` cell, not Python"
    if head.startswith("%"):
        name, _, args = head[1:].partition(" ")
        language = DATABRICKS_LANGUAGES.get(name)
        # `%sql SELECT ...` outside Databricks is ipython-sql's line magic
        if language is not None and (name != "sql" or databricks or not args.strip()):
            return "skip", f"Databricks `%{name}` cell: {language}, not Python"
    return "notebook", ""


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


def _virtual_cell(
    index: int, source: str, nonce: str, magics: list[str], ipython: bool = True
) -> _Cell:
    """The cell as Python for the module: its cell magic line (a Python one: see _classify)
    and, with `ipython`, IPython's syntax replaced by placeholders. Without it (the body of
    `%%writefile x.py`, `%%python`), the body is plain Python."""
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
            out.extend(lines[:first])
            out.append(_placeholder("", nonce, len(magics)))
            magics.append(lines[first])
            number = first + 1
    quote: Optional[str] = None
    depth = 0
    continued = False
    if not ipython:
        out.extend(lines[number:])
        number = len(lines)
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


def _automagic(line: str) -> bool:
    """`pip install mlflow` at the start of a logical line: IPython runs it as `%pip`."""
    match = _AUTOMAGIC.match(line)
    return match is not None and not keyword.iskeyword(match.group(2))


def _scan(line: str, quote: Optional[str], depth: int) -> _Scan:
    """Python's tokens roughly, enough to know where logical lines start and which are IPython
    syntax (Python has no `?` token, never starts a statement with `%`, `!`, `/`, `,` or `;`,
    and never has `%` or `!` right after `=`)."""
    stripped = line.lstrip(" \t")
    magic = quote is None and depth == 0 and (stripped[:1] in _MAGIC_START or _automagic(stripped))
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
        self.boundary = f"# {nonce}:cell"  # the separator's comment (engine.analyze)
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
