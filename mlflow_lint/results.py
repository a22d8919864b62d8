"""What checking or fixing one file produced: its findings, or the error that stopped it.

Kept apart from the engine so that the command line, the cache, the reports and the runner
can handle results without importing the analysis (a warm run from the cache never needs it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from mlflow_lint.rule import Safety, Violation


@dataclass(frozen=True)
class FileError:
    message: str
    line: int = 1
    column: int = 0  # 0-based
    cell: Optional[int] = None  # notebooks: 1-based cell index; line is then within the cell


@dataclass(frozen=True)
class WriteError(FileError):
    """The file was checked and fixed, but the fixed code could not be written: the file is
    left as it was, and its findings are reported as they are in it."""


@dataclass
class FileResult:
    path: str
    violations: list[Violation] = field(default_factory=list)
    error: Optional[FileError] = None
    parsed: bool = False  # False when the prefilter proved the file cannot hold a finding
    fixed: int = 0  # fix mode: findings whose fix was applied
    # fix mode: findings of the first pass neither fixed nor remaining: another fix rewrote
    # their code (two calls merged into one `log_metrics` leave no call in a loop to buffer)
    moot: int = 0
    changed: bool = False  # fix mode: the file's contents changed (written unless --diff)
    diff: str = ""
    # fix mode: the first pass's findings that no applicable fix addresses, where they are in
    # the file as it was read (what `fix --diff`, which writes nothing, reports)
    unfixable: list[Violation] = field(default_factory=list)
    # not checked, and why (a notebook in another language): not an error, not a pass
    skipped: str = ""
    notes: list[str] = field(default_factory=list)  # parts left unchecked, and why (--verbose)
    fixed_codes: dict[str, int] = field(default_factory=dict)  # fix mode: fixes applied, by rule


def applicable(violation: Violation, unsafe_fixes: bool) -> bool:
    fix = violation.fix
    return fix is not None and (fix.safety is Safety.SAFE or unsafe_fixes)
