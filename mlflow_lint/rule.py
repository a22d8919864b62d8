"""What a rule is, and what it produces: violations with optional fixes."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, TypeVar

if TYPE_CHECKING:  # at run time, only the analysis needs libcst (catalogue.py says why)
    import libcst as cst

    from mlflow_lint.context import FileContext


class Safety(str, enum.Enum):
    SAFE = "safe"  # never changes what gets logged; applied by `mlflow-lint fix`
    UNSAFE = "unsafe"  # could change behaviour; applied only with --unsafe-fixes


@dataclass(frozen=True)
class NodeEdit:
    """Replace the source from the start of `first` to the end of `last` with `content`.

    `content` is written as if the first line started at column 0; the engine indents the
    following lines to the column where `first` starts, and uses the file's line ending.
    With `insert`, nothing is replaced: `content` goes in just before `first` (`last` is
    ignored), which lets a fix add a line above a statement another of its edits changes."""

    first: cst.CSTNode
    last: cst.CSTNode
    content: str
    insert: bool = False


@dataclass(frozen=True)
class Edit:
    """A text edit on the file: replace characters [start, end) with content."""

    start: int
    end: int
    content: str
    start_line: int
    start_column: int  # 0-based
    end_line: int
    end_column: int
    # Notebooks: the 1-based index of the cell (among all cells) the edit is in; then start and
    # end are offsets in that cell's source, lines and columns relative to it.
    cell: Optional[int] = None


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """`text` with non-overlapping `edits` applied, their offsets all in `text`. At one offset
    what is inserted goes before the replacement, and insertions at one place go in the
    reverse of their order (each went in before the last)."""
    pieces: list[str] = []
    at = 0
    for _, _, _, edit in sorted((e.start, e.end, -i, e) for i, e in enumerate(edits)):
        pieces += (text[at : edit.start], edit.content)
        at = edit.end
    pieces.append(text[at:])
    return "".join(pieces)


@dataclass(frozen=True)
class Fix:
    description: str
    safety: Safety
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Violation:
    code: str
    name: str
    message: str
    line: int
    column: int  # 0-based, as libcst and flake8's plugin API count
    end_line: int
    end_column: int
    fix: Optional[Fix] = None
    # Notebooks: the 1-based index of the cell (among all cells, markdown included) holding the
    # finding; line and column (start and end) are then relative to that cell's source.
    cell: Optional[int] = None
    # The remedy, on its own line ("help: ..."): `message` says what is wrong, in one short
    # sentence; `help` says what to do instead. Empty when the message needs no remedy.
    help: str = ""


@dataclass(frozen=True)
class RuleOption:
    type: type
    default: Any
    help: str
    minimum: Optional[int] = None  # for numbers: the smallest value the configuration accepts


@dataclass
class PendingFix:
    description: str
    safety: Safety
    edits: list[NodeEdit]


@dataclass
class Report:
    """A finding as a rule makes it, positioned by nodes; the engine turns it into a Violation."""

    rule: Rule
    node: cst.CSTNode
    message: str
    fix: Optional[PendingFix] = None
    end_node: Optional[cst.CSTNode] = None
    help: str = ""


class Rule:
    """Base class. Subclasses define `visit_<Node>` / `leave_<Node>` methods, called by the
    engine's single walk, and report findings with `self.report`. The class docstring is the
    rule's documentation (What it does / Why is this bad / Fix safety), in Markdown."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    # Names one of which must appear in a file (besides "mlflow") for this rule to fire there.
    triggers: ClassVar[frozenset[str]]
    # When set, one of these must appear as well (for example a thread pool's class name).
    requires: ClassVar[frozenset[str]] = frozenset()
    # Words the rule reads anywhere in a file besides MLflow calls (and `requires`), such as an
    # environment variable's name: a definition that mentions one is never elided.
    context: ClassVar[frozenset[str]] = frozenset()
    fix_safety: ClassVar[Optional[Safety]] = None  # None: report only
    default_enabled: ClassVar[bool] = True
    options: ClassVar[Mapping[str, RuleOption]] = {}

    def __init__(
        self, ctx: FileContext, emit: Callable[[Report], None], options: Mapping[str, Any]
    ) -> None:
        self.ctx = ctx
        self._emit = emit
        self.option_values = options
        self.setup()

    def setup(self) -> None:
        """Per-file state, set up before the walk."""

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        fix: Optional[PendingFix] = None,
        end_node: Optional[cst.CSTNode] = None,
        help: str = "",
    ) -> Optional[Report]:
        """`message`: what is wrong, one short sentence; `help`: the remedy. Returns the
        report, which the rule may still extend during the walk (None: left out)."""
        report = Report(self, node, message, fix, end_node, help)
        self._emit(report)
        return report

    def fix(self, description: str, *edits: NodeEdit) -> PendingFix:
        """A fix with this rule's declared safety."""
        assert self.fix_safety is not None, f"{self.code} declares no fix"
        return PendingFix(description, self.fix_safety, list(edits))

    def finish(self) -> None:
        """Called once after the walk: for findings that need the whole file."""


@dataclass
class RuleSettings:
    enabled: list[type[Rule]] = field(default_factory=list)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # by rule code


_RuleClass = TypeVar("_RuleClass", bound=type["Rule"])


def shared_doc(marker: str, text: str) -> Callable[[_RuleClass], _RuleClass]:
    """A class decorator that puts `text` where a rule's docstring has a line that is just
    `marker` (`{once_per_run}`), indented like that line: one text for the paragraph
    several rules share."""

    def put(rule: _RuleClass) -> _RuleClass:
        doc = rule.__doc__ or ""
        line = next((line for line in doc.splitlines() if line.strip() == marker), None)
        if line is None:  # `python -OO` strips docstrings
            return rule
        indent = line[: len(line) - len(line.lstrip())]
        lines = text.splitlines()
        rule.__doc__ = doc.replace(line, "\n".join(indent + x if x else x for x in lines))
        return rule

    return put
