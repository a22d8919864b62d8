"""Printing results: the findings as they stream in, then a summary.

`Reporter` counts what streams in (the exit code and the summary come from its counts);
`ConciseReporter` writes one `path:line:col: CODE message` line per finding; `FullReporter`
shows each finding as Ruff's `full` format does: the code and message, the source lines with a
caret under the finding, the remedy on a `help:` line, and the fix as a diff. The other output
formats (`json`, `github`, `sarif`) are in `mlflow_lint.formats`.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional, TextIO

import click

from mlflow_lint.catalogue import RULES_BY_CODE
from mlflow_lint.results import FileError, FileResult, WriteError, applicable
from mlflow_lint.rule import Edit, Violation, apply_edits
from mlflow_lint.sourcefile import SourceError, decode, read_bytes

# What the summary suggests for the fixes it counts (`fix` is the short form of `check --fix`).
FIX_COMMAND = "mlflow-lint fix"
TIMES = "\u00d7"  # the multiplication sign, as Ruff's --show-fixes writes counts
NO_FILES_WARNING = "warning: No Python files found under the given path(s)"


class Style:
    """ANSI colours, or plain text (`--color`, NO_COLOR, FORCE_COLOR: see cli.use_color)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, **styles: object) -> str:
        return click.style(text, **styles) if self.enabled and text else text  # type: ignore[arg-type]

    def code(self, text: str) -> str:
        return self(text, fg="red", bold=True)

    def path(self, text: str) -> str:
        return self(text, bold=True)

    def punctuation(self, text: str) -> str:
        return self(text, fg="cyan")

    def fixable(self, text: str) -> str:
        return self(text, fg="cyan")

    def gutter(self, text: str) -> str:
        return self(text, fg="blue", bold=True)

    def marker(self, text: str) -> str:
        return self(text, fg="red", bold=True)

    def label(self, text: str) -> str:
        return self(text, fg="cyan", bold=True)

    def removed(self, text: str) -> str:
        return self(text, fg="red")

    def added(self, text: str) -> str:
        return self(text, fg="green")

    def warning(self, text: str) -> str:
        return self(text, fg="yellow", bold=True)


@dataclass
class Reporter:
    """Counts findings, fixes and errors as results stream in; subclasses write them.

    `summary()` is the last call: it writes the end of the report (the summary line, or the
    whole document for formats that need every finding first) and closes `out` when the
    reporter owns it (`--output-file`). `console` is where the one-line summary also goes when
    the report itself goes to a file.

    `mode` is what the run does: "check" (report), "fix" (`check --fix`: apply, then report
    what remains), "fix-only" (apply, report nothing else) or "diff" (`--diff`: show the fixes,
    write nothing). `batch`: one of several batches pre-commit runs in parallel, whose
    summaries must not read as the whole run's."""

    out: TextIO
    unsafe_fixes: bool = False
    quiet: bool = False
    console: Optional[TextIO] = None
    owns_out: bool = False
    mode: str = "check"
    batch: bool = False
    style: Style = field(default_factory=lambda: Style(False))
    warnings: Optional[TextIO] = None  # where "No Python files found" goes (standard error)
    findings: int = 0
    fixable: int = 0
    hidden_unsafe: int = 0
    errors: int = 0
    not_written: int = 0  # of the errors: files checked and fixed, but not written
    fixed: int = 0
    moot: int = 0  # fix: findings gone with another finding's fix
    unlisted: int = 0  # --diff, --fix-only: the findings that remain, counted, not listed
    files_changed: int = 0
    files_seen: int = 0
    files_parsed: int = 0
    files_skipped: int = 0  # not checked, not an error: a notebook in another language
    files_with_findings: int = 0
    # Python files and notebooks with loop findings (for the requests-per-iteration estimate),
    # and the estimate's lines
    loop_files: list[str] = field(default_factory=list)
    loop_estimates: list[str] = field(default_factory=list)
    by_code: Counter[str] = field(default_factory=Counter)
    fixable_by_code: Counter[str] = field(default_factory=Counter)
    # --show-fixes: what was fixed, per file, by code
    fixed_by_file: list[tuple[str, int, Counter[str]]] = field(default_factory=list)
    closed: bool = False

    @property
    def dry_run(self) -> bool:
        return self.mode == "diff"

    @property
    def fixing(self) -> bool:
        return self.mode != "check"

    @property
    def files_checked(self) -> int:
        return self.files_seen - (self.errors - self.not_written) - self.files_skipped

    def file(self, result: FileResult, text: Optional[str] = None) -> None:
        """One file's result; `text`: its source as the findings' positions refer to it, when
        it is not the file on disk (standard input, fixed code that was not written)."""
        self.files_seen += 1
        # a file that failed or was skipped was not parsed as far as `--statistics` goes
        self.files_parsed += result.parsed and result.error is None and not result.skipped
        self.files_skipped += bool(result.skipped)
        if result.error is not None:
            self.errors += 1
            self.not_written += isinstance(result.error, WriteError)
        self.fixed += result.fixed
        self.files_changed += result.changed
        if result.fixed:
            codes: Counter[str] = Counter(result.fixed_codes)
            self.fixed_by_file.append((result.path, result.fixed, codes))
        self.moot += result.moot
        if self.mode in ("fix-only", "diff"):  # findings are not reported, only counted
            if result.error is not None:
                self.error(result.path, result.error)
            self.hidden_unsafe += sum(
                v.fix is not None and not applicable(v, self.unsafe_fixes)
                for v in result.violations
            )
            self.unlisted += len(result.violations)
            return
        self.begin_file(result.path, text)
        if result.error is not None:
            self.error(result.path, result.error)
        if result.violations:
            self.files_with_findings += 1
        for v in result.violations:
            self.findings += 1
            self.by_code[v.code] += 1
            fixable = applicable(v, self.unsafe_fixes)
            if fixable:
                self.fixable += 1
                self.fixable_by_code[v.code] += 1
            elif v.fix is not None:
                self.hidden_unsafe += 1
            self.violation(result.path, v, fixable)
        if any(v.code in LOOP_CODES for v in result.violations) and result.path.endswith(
            (".py", ".ipynb")
        ):
            self.loop_files.append(result.path)

    def begin_file(self, path: str, text: Optional[str]) -> None:
        """Before a file's findings (the full format reads its source here, when needed)."""

    def error(self, path: str, error: FileError) -> None:
        """One file that could not be checked."""

    def violation(self, path: str, violation: Violation, fixable: bool) -> None:
        """One finding; `fixable`: `check --fix` applies its fix with these settings."""

    def statistics(self) -> None:
        """`--statistics`: the number of findings per rule (text-like formats only)."""

    def show_fixes(self) -> None:
        """`--show-fixes`: what was fixed, per file and rule (text-like formats only)."""

    def summary(self) -> None:
        """The end of the report; see the class docstring."""
        self.close()

    def close(self) -> None:
        """Finish the report (once) and close the output file the reporter owns."""
        if self.closed:
            return
        self.closed = True
        self.finish()
        if self.owns_out:
            self.out.close()
        else:
            self.out.flush()

    def finish(self) -> None:
        """Write whatever needs every result first (a JSON or SARIF document)."""

    def warn_if_nothing_checked(self) -> None:
        """Ruff's warning when no file was found to check (never "All checks passed!")."""
        if self.files_seen == 0 and self.warnings is not None:
            self.warnings.write(self.style.warning("warning:") + NO_FILES_WARNING[8:] + "\n")
            self.warnings.flush()

    def summary_line(self, errors_at: str = "see errors above") -> str:
        """The summary (one line), or "" where there is nothing to say: no file at all, or a
        clean pre-commit batch (another batch may have findings)."""
        if self.files_seen == 0:
            return ""
        parts = []
        checked = _plural(self.files_checked, "file") + " checked"
        if self.batch:
            checked += " in this batch"
        if self.fixing:
            verb = "Would fix" if self.dry_run else "Fixed"
            parts.append(
                f"{verb} {_plural(self.fixed, 'finding')} in {_plural(self.files_changed, 'file')}."
            )
            if self.moot:  # every finding is fixed, made moot, or remaining: the counts add up
                made = "would be made" if self.dry_run else "made"
                parts.append(f"{_plural(self.moot, 'finding')} {made} moot by another fix.")
            if self.findings:
                parts.append(f"{_plural(self.findings, 'finding')} remaining.")
            elif self.unlisted and self.dry_run:  # --diff lists none: say how many would remain
                parts.append(f"{_plural(self.unlisted, 'finding')} would remain.")
            if self.batch and not (self.fixed or self.findings or self.errors):
                return ""
        elif self.findings:
            line = (
                f"Found {_plural(self.findings, 'finding')} in "
                f"{_plural(self.files_with_findings, 'file')}"
            )
            if self.fixable:
                line += f" ({self.fixable} fixable with `{FIX_COMMAND}"
                line += " --unsafe-fixes`)" if self.unsafe_fixes else "`)"
            parts.append(line + ".")
        elif self.errors or self.files_skipped:  # nothing found, but not all was checked
            parts.append("No findings.")
        elif self.batch:
            return ""  # a clean batch says nothing: another batch may have findings
        else:
            parts.append("All checks passed!")
        if self.files_checked:
            parts.append(f"{checked[0].upper()}{checked[1:]}.")
        if self.hidden_unsafe:
            parts.append(
                f"{_plural(self.hidden_unsafe, 'more fix', 'more fixes')} available with "
                "`--unsafe-fixes`."
            )
        unchecked = self.errors - self.not_written
        if unchecked:
            parts.append(f"{_plural(unchecked, 'file')} could not be checked ({errors_at}).")
        if self.not_written:
            parts.append(f"{_plural(self.not_written, 'file')} could not be fixed ({errors_at}).")
        if self.files_skipped:
            parts.append(f"{_plural(self.files_skipped, 'file')} skipped (not Python).")
        return " ".join(parts) + "\n"

    def statistics_text(self) -> str:
        """Findings per rule, as Ruff's `--statistics`: `[*]` when `check --fix` would fix the
        rule's findings (as on the finding lines; "(N fixable)" when only some), then the files
        and the requests-per-iteration estimate."""
        lines = []
        for code, count in sorted(self.by_code.items(), key=lambda item: (-item[1], item[0])):
            rule = RULES_BY_CODE[code]
            fixable = self.fixable_by_code[code]
            marker = "[*]" if fixable else "[ ]"
            partial = f" ({fixable} fixable)" if 0 < fixable < count else ""
            lines.append(f"{count:6d}  {code}  {marker} {rule.name}{partial}\n")
        lines.append(
            f"{_plural(self.files_seen, 'file')} checked, {self.files_parsed} parsed "
            "(the others cannot hold a finding and were skipped unparsed)\n"
        )
        lines.extend(self.loop_estimates)
        return "".join(lines)

    def show_fixes_text(self) -> str:
        """Ruff's `--show-fixes` enumeration: per file, the fixes applied, by rule; without
        `--fix`, the findings `--fix` would fix, by rule."""
        if not self.fixing:
            if not self.fixable_by_code:
                return ""
            lines = [f"Fixable with `{FIX_COMMAND}`: {_plural(self.fixable, 'finding')}:\n"]
            for code, count in sorted(self.fixable_by_code.items()):
                lines.append(f"    {count} {TIMES} {code} ({RULES_BY_CODE[code].name})\n")
            return "".join(lines) + "\n"
        if not self.fixed_by_file:
            return ""
        verb = "Would fix" if self.dry_run else "Fixed"
        lines = [f"{verb} {_plural(self.fixed, 'finding')}:\n"]
        for path, total, codes in self.fixed_by_file:
            lines.append(f"- {path}:\n")
            for code, count in sorted(codes.items()):
                name = RULES_BY_CODE[code].name if code in RULES_BY_CODE else code
                lines.append(f"    {count} {TIMES} {code} ({name})\n")
            unlisted = total - sum(codes.values())
            if unlisted > 0:  # fixes whose rules were not recorded
                lines.append(f"    {unlisted} {TIMES} {'fix' if unlisted == 1 else 'fixes'}\n")
        return "".join(lines) + "\n"

    def echo_summary(self) -> None:
        """The summary line on the console, when the report went to a file."""
        if self.console is not None and not self.quiet:
            line = self.summary_line(errors_at="see the report")
            if line:
                self.console.write(line)
                self.console.flush()


# Rules about calls made on every iteration of a loop.
LOOP_CODES = frozenset(
    {"MLF101", "MLF102", "MLF103", "MLF104", "MLF105", "MLF106", "MLF107", "MLF108", "MLF109"}
    | {"MLF201", "MLF202", "MLF901"}
)


@dataclass
class ConciseReporter(Reporter):
    """`path:line:col: CODE message [*]` per finding as it comes, then a summary line."""

    show_fixable_marker: bool = True

    def error(self, path: str, error: FileError) -> None:
        s = self.style
        where = cell_path(path, error.cell)
        self.out.write(
            f"{s.path(where)}{s.punctuation(':')}{error.line}{s.punctuation(':')}"
            f"{error.column + 1}{s.punctuation(':')} {s.code('error:')} {error.message}\n"
        )

    def violation(self, path: str, v: Violation, fixable: bool) -> None:
        s = self.style
        marker = " " + s.fixable("[*]") if fixable and self.show_fixable_marker else ""
        where = cell_path(path, v.cell)
        self.out.write(
            f"{s.path(where)}{s.punctuation(':')}{v.line}{s.punctuation(':')}{v.column + 1}"
            f"{s.punctuation(':')} {s.code(v.code)} {v.message}{marker}\n"
        )

    def statistics(self) -> None:
        self.out.write(self.statistics_text())

    def show_fixes(self) -> None:
        self.out.write(self.show_fixes_text())

    def summary(self) -> None:
        if not self.quiet:
            self.out.write(self.summary_line())
        self.echo_summary()
        self.close()


TextReporter = ConciseReporter  # the name of the concise format before `--output-format`


@dataclass
class FullReporter(ConciseReporter):
    """Each finding as Ruff's `full` format shows it:

        MLF102 [*] 2 consecutive `mlflow.log_metric` calls send 2 tracking requests
         --> train.py:4:1
          |
        3 | with mlflow.start_run():
        4 |     mlflow.log_metric("a", 1)
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^
          |
        help: Log them in one call
        fix: Merge into one `mlflow.log_metrics` call
          |
          -     mlflow.log_metric("a", 1)
          -     mlflow.log_metric("b", 2)
        4 +     mlflow.log_metrics({"a": 1, "b": 2})
          |

    The source comes from the file on disk (for `check --fix`, the file as written) or from
    the text handed to `file()` (standard input)."""

    context_lines: int = 2
    source: Optional[Callable[[str, Optional[int]], Optional[str]]] = None
    _path: str = ""
    _text: Optional[str] = None
    _sources: dict[Optional[int], Optional[str]] = field(default_factory=dict)

    def begin_file(self, path: str, text: Optional[str]) -> None:
        self._path, self._text, self._sources = path, text, {}

    def _source(self, cell: Optional[int]) -> Optional[str]:
        if cell not in self._sources:
            if self._text is not None:
                self._sources[cell] = _cell_source(self._text, cell) if cell else self._text
            else:
                self._sources[cell] = read_source(self._path, cell)
        return self._sources[cell]

    def error(self, path: str, error: FileError) -> None:
        s = self.style
        where = cell_path(path, error.cell)
        self.out.write(
            f"{s.code('error:')} {error.message}\n"
            f" {s.gutter('-->')} {where}:{error.line}:{error.column + 1}\n\n"
        )

    def violation(self, path: str, v: Violation, fixable: bool) -> None:
        s = self.style
        marker = " " + s.fixable("[*]") if fixable else ""
        lines = [f"{s.code(v.code)}{marker} {v.message}"]
        text = self._source(v.cell)
        body = []
        if text is not None:
            body = snippet(text, v, self.context_lines, s)
        width = _gutter_width(body)
        where = f"{cell_path(path, v.cell)}:{v.line}:{v.column + 1}"
        lines.append(f"{' ' * (width - 1)}{s.gutter('-->')} {where}")
        lines.extend(_with_gutter(body, width, s))
        if v.help:
            lines.append(f"{s.label('help:')} {v.help}")
        if v.fix is not None:
            lines.append(f"{s.label('fix:')} {v.fix.description}")
            if text is not None:
                lines.extend(_with_gutter(fix_diff(text, v.fix.edits, s), width, s))
            if v.fix.safety.value == "unsafe":
                if fixable:
                    note = "an unsafe fix: it may change what gets logged (see `mlflow-lint "
                    note += f"rule {v.code}`)"
                else:
                    note = "an unsafe fix, applied only with `--unsafe-fixes`"
                lines.append(f"{s.label('note:')} {note}")
        self.out.write("\n".join(lines) + "\n\n")


# --- the full format's pieces ---------------------------------------------------------------
Row = tuple[str, str, str]  # (line number or "", the gutter's sign: "|", "-", "+"), text


def snippet(text: str, v: Violation, context: int, s: Style) -> list[Row]:
    """The finding's lines with `context` lines around them, and carets under its range (a
    range over several lines gets Ruff's bracket down the left side)."""
    lines = _split_lines(text)
    if not lines or v.line > len(lines):
        return []
    first, last = v.line, min(v.end_line, len(lines))
    start, stop = max(1, first - context), min(len(lines), last + context)
    while stop > last and not lines[stop - 1].strip():
        stop -= 1  # no blank lines at the end
    rows: list[Row] = []
    if first == last:
        for number in range(start, stop + 1):
            rows.append((str(number), "|", _display(lines[number - 1])))
            if number == first:
                line = lines[number - 1]
                begin = _width(line[: v.column])
                end = _width(line[: max(v.end_column, v.column + 1)]) if last == first else 0
                rows.append(("", "|", " " * begin + s.marker("^" * max(end - begin, 1))))
        return rows
    shown = list(range(start, stop + 1))
    if last - first > 8:  # a long range: its first and last lines, and an ellipsis
        shown = [n for n in shown if n <= first + 2 or n >= last - 2]
    previous = None
    for number in shown:
        if previous is not None and number != previous + 1:
            rows.append(("", "|", s.marker("|") + " ..."))
        previous = number
        if number < first or number > last:
            bracket = "  "
        elif number == first:
            bracket = s.marker("/") + " "
        else:
            bracket = s.marker("|") + " "
        rows.append((str(number), "|", bracket + _display(lines[number - 1])))
        if number == last:
            end = _width(lines[number - 1][: v.end_column])
            rows.append(("", "|", s.marker("|" + "_" * max(end, 1) + "^")))
    return rows


def fix_diff(text: str, edits: tuple[Edit, ...], s: Style) -> list[Row]:
    """The fix as Ruff shows it: changed lines with one line of context, removed lines
    marked `-`, added ones `+` with their new line numbers."""
    new = apply_edits(text, edits)
    old_lines, new_lines = _split_lines(text), _split_lines(new)
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for index, group in enumerate(matcher.get_grouped_opcodes(1)):
        if index:
            rows.append(("", "|", "..."))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows.extend((str(j + 1), "|", _display(new_lines[j])) for j in range(j1, j2))
                continue
            rows.extend(("", "-", s.removed(_display(old_lines[i]))) for i in range(i1, i2))
            rows.extend((str(j + 1), "+", s.added(_display(new_lines[j]))) for j in range(j1, j2))
    return rows


def _gutter_width(rows: list[Row]) -> int:
    return max((len(number) for number, _, _ in rows), default=1) + 1


def _with_gutter(rows: list[Row], width: int, s: Style) -> list[str]:
    """Rows between two empty gutter lines: `N | text`, `  - text`, `N + text`."""
    if not rows:
        return []
    empty = " " * width + s.gutter("|")
    out = [empty]
    for number, sign, text in rows:
        mark = {"|": s.gutter("|"), "-": s.removed("-"), "+": s.added("+")}[sign]
        out.append(f"{s.gutter(number.rjust(width - 1))} {mark} {text}".rstrip())
    out.append(empty)
    return out


def _split_lines(text: str) -> list[str]:
    """Lines split on Python's line breaks only (not on form feeds, as str.splitlines would)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


TAB = "    "


def _display(line: str) -> str:
    return line.replace("\t", TAB).replace("\f", " ")


def _width(text: str) -> int:
    """Terminal columns of `text` (tabs as four, wide East Asian characters as two)."""
    width = 0
    for char in text:
        if char == "\t":
            width += len(TAB)
        elif unicodedata.combining(char):
            continue
        else:
            width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def read_source(path: str, cell: Optional[int] = None) -> Optional[str]:
    """The text the positions of `path`'s findings refer to: the decoded file, or the source
    of notebook cell `cell`. None when it cannot be read (the finding is shown without it)."""
    try:
        data = read_bytes(path)
        if cell is not None:
            return _cell_source(data.decode("utf-8-sig"), cell)
        return decode(data).text
    except (SourceError, UnicodeDecodeError):
        return None


def _cell_source(notebook_text: str, cell: int) -> Optional[str]:
    try:
        cells = json.loads(notebook_text)["cells"]
        source = cells[cell - 1].get("source", "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return "".join(source) if isinstance(source, list) else str(source)


def cell_path(path: str, cell: Optional[int]) -> str:
    """`path`, or `path:cell N` for a position in cell N of a notebook (mlflow_lint.notebook)."""
    return path if cell is None else f"{path}:cell {cell}"


def _plural(count: int, singular: str, plural: str = "") -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
