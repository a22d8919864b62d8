"""Printing results: one line per finding as they stream in, then a summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from mlflow_lint.engine import FileResult, applicable
from mlflow_lint.rules import RULES_BY_CODE


@dataclass
class TextReporter:
    out: TextIO
    unsafe_fixes: bool = False
    quiet: bool = False
    show_fixable_marker: bool = True
    findings: int = 0
    fixable: int = 0
    hidden_unsafe: int = 0
    errors: int = 0
    fixed: int = 0
    files_changed: int = 0
    files_seen: int = 0
    files_parsed: int = 0
    by_code: Counter[str] = field(default_factory=Counter)

    def file(self, result: FileResult) -> None:
        self.files_seen += 1
        self.files_parsed += result.parsed
        if result.error is not None:
            self.errors += 1
            e = result.error
            self.out.write(f"{result.path}:{e.line}:{e.column + 1}: error: {e.message}\n")
        for v in result.violations:
            self.findings += 1
            self.by_code[v.code] += 1
            marker = ""
            if applicable(v, self.unsafe_fixes):
                self.fixable += 1
                marker = " [*]" if self.show_fixable_marker else ""
            elif v.fix is not None:
                self.hidden_unsafe += 1
            self.out.write(f"{result.path}:{v.line}:{v.column + 1}: {v.code} {v.message}{marker}\n")
        self.fixed += result.fixed
        self.files_changed += result.changed

    def statistics(self) -> None:
        for code, count in sorted(self.by_code.items(), key=lambda item: (-item[1], item[0])):
            rule = RULES_BY_CODE[code]
            fixable = "[*]" if rule.fix_safety is not None else "   "
            self.out.write(f"{count:6d}  {code}  {fixable} {rule.name}\n")
        self.out.write(
            f"{self.files_seen} files checked, {self.files_parsed} parsed "
            "(the others cannot hold a finding and were skipped unparsed)\n"
        )

    def summary(self, fixing: bool = False) -> None:
        if self.quiet:
            return
        parts = []
        if fixing:
            parts.append(
                f"Fixed {_plural(self.fixed, 'finding')} in {_plural(self.files_changed, 'file')}."
            )
            if self.findings:
                parts.append(f"{_plural(self.findings, 'finding')} remaining.")
        elif self.findings:
            line = f"Found {_plural(self.findings, 'finding')}"
            if self.fixable:
                line += f" ({self.fixable} fixable with `mlflow-lint fix`"
                line += " --unsafe-fixes)" if self.unsafe_fixes else ")"
            parts.append(line + ".")
        else:
            parts.append("All checks passed!")
        if self.hidden_unsafe:
            parts.append(
                f"{_plural(self.hidden_unsafe, 'more fix', 'more fixes')} available with "
                "`--unsafe-fixes`."
            )
        if self.errors:
            parts.append(f"{_plural(self.errors, 'file')} could not be checked (see errors above).")
        self.out.write(" ".join(parts) + "\n")


def _plural(count: int, singular: str, plural: str = "") -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
