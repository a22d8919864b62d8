"""Printing results: one line per finding as they stream in, then a summary.

`Reporter` counts what streams in (the exit code and the summary come from its counts);
`TextReporter` writes the classic `path:line:col: CODE message` lines. The other output
formats (`--format json|github|sarif`) are in `mlflow_lint.formats`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, TextIO

from mlflow_lint.catalogue import RULES_BY_CODE
from mlflow_lint.engine import FileError, FileResult, applicable
from mlflow_lint.rule import Violation


@dataclass
class Reporter:
    """Counts findings, fixes and errors as results stream in; subclasses write them.

    `summary()` is the last call: it writes the end of the report (the summary line, or the
    whole document for formats that need every finding first) and closes `out` when the
    reporter owns it (`--output-file`). `console` is where the one-line summary also goes when
    the report itself goes to a file."""

    out: TextIO
    unsafe_fixes: bool = False
    quiet: bool = False
    console: Optional[TextIO] = None
    owns_out: bool = False
    dry_run: bool = False  # `fix --diff`: nothing was written
    findings: int = 0
    fixable: int = 0
    hidden_unsafe: int = 0
    errors: int = 0
    fixed: int = 0
    files_changed: int = 0
    files_seen: int = 0
    files_parsed: int = 0
    # Python files with loop findings (for the requests-per-iteration estimate), and its lines
    loop_files: list[str] = field(default_factory=list)
    loop_estimates: list[str] = field(default_factory=list)
    by_code: Counter[str] = field(default_factory=Counter)
    closed: bool = False

    def file(self, result: FileResult) -> None:
        self.files_seen += 1
        self.files_parsed += result.parsed
        if result.error is not None:
            self.errors += 1
            self.error(result.path, result.error)
        for v in result.violations:
            self.findings += 1
            self.by_code[v.code] += 1
            fixable = applicable(v, self.unsafe_fixes)
            if fixable:
                self.fixable += 1
            elif v.fix is not None:
                self.hidden_unsafe += 1
            self.violation(result.path, v, fixable)
        self.fixed += result.fixed
        self.files_changed += result.changed
        if any(v.code in LOOP_CODES for v in result.violations) and result.path.endswith(".py"):
            self.loop_files.append(result.path)

    def error(self, path: str, error: FileError) -> None:
        """One file that could not be checked."""

    def violation(self, path: str, violation: Violation, fixable: bool) -> None:
        """One finding; `fixable`: `mlflow-lint fix` applies its fix with these settings."""

    def statistics(self) -> None:
        """`--statistics`: the number of findings per rule (text-like formats only)."""

    def summary(self, fixing: bool = False) -> None:
        """The end of the report; see the class docstring."""
        self.close(fixing)

    def close(self, fixing: bool = False) -> None:
        """Finish the report (once) and close the output file the reporter owns."""
        if self.closed:
            return
        self.closed = True
        self.finish(fixing)
        if self.owns_out:
            self.out.close()
        else:
            self.out.flush()

    def finish(self, fixing: bool) -> None:
        """Write whatever needs every result first (a JSON or SARIF document)."""

    def summary_line(self, fixing: bool = False, errors_at: str = "see errors above") -> str:
        parts = []
        if fixing:
            verb = "Would fix" if self.dry_run else "Fixed"
            parts.append(
                f"{verb} {_plural(self.fixed, 'finding')} in {_plural(self.files_changed, 'file')}."
            )
            if self.findings:
                parts.append(f"{_plural(self.findings, 'finding')} remaining.")
        elif self.findings:
            line = f"Found {_plural(self.findings, 'finding')}"
            if self.fixable:
                line += f" ({self.fixable} fixable with `mlflow-lint fix`"
                line += " --unsafe-fixes)" if self.unsafe_fixes else ")"
            parts.append(line + ".")
        elif self.errors:  # nothing found, but not everything was checked
            parts.append("No findings.")
        else:
            parts.append("All checks passed!")
        if self.hidden_unsafe:
            parts.append(
                f"{_plural(self.hidden_unsafe, 'more fix', 'more fixes')} available with "
                "`--unsafe-fixes`."
            )
        if self.errors:
            parts.append(f"{_plural(self.errors, 'file')} could not be checked ({errors_at}).")
        return " ".join(parts) + "\n"

    def statistics_text(self) -> str:
        lines = []
        for code, count in sorted(self.by_code.items(), key=lambda item: (-item[1], item[0])):
            rule = RULES_BY_CODE[code]
            fixable = "[*]" if rule.fix_safety is not None else "   "
            lines.append(f"{count:6d}  {code}  {fixable} {rule.name}\n")
        lines.append(
            f"{self.files_seen} files checked, {self.files_parsed} parsed "
            "(the others cannot hold a finding and were skipped unparsed)\n"
        )
        lines.extend(self.loop_estimates)
        return "".join(lines)

    def echo_summary(self, fixing: bool) -> None:
        """The summary line on the console, when the report went to a file."""
        if self.console is not None and not self.quiet:
            self.console.write(self.summary_line(fixing, errors_at="see the report"))
            self.console.flush()


# Rules about calls made on every iteration of a loop.
LOOP_CODES = frozenset(
    {"MLF101", "MLF105", "MLF106", "MLF108", "MLF109", "MLF201", "MLF202", "MLF901"}
)


@dataclass
class TextReporter(Reporter):
    """`path:line:col: CODE message [*]` per finding as it comes, then a summary line."""

    show_fixable_marker: bool = True

    def error(self, path: str, error: FileError) -> None:
        where = cell_path(path, error.cell)
        self.out.write(f"{where}:{error.line}:{error.column + 1}: error: {error.message}\n")

    def violation(self, path: str, v: Violation, fixable: bool) -> None:
        marker = " [*]" if fixable and self.show_fixable_marker else ""
        where = cell_path(path, v.cell)
        self.out.write(f"{where}:{v.line}:{v.column + 1}: {v.code} {v.message}{marker}\n")

    def statistics(self) -> None:
        self.out.write(self.statistics_text())

    def summary(self, fixing: bool = False) -> None:
        if not self.quiet:
            self.out.write(self.summary_line(fixing))
        self.echo_summary(fixing)
        self.close(fixing)


def cell_path(path: str, cell: Optional[int]) -> str:
    """`path`, or `path:cell N` for a position in cell N of a notebook (mlflow_lint.notebook)."""
    return path if cell is None else f"{path}:cell {cell}"


def _plural(count: int, singular: str, plural: str = "") -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
