"""`check --add-noqa`: a `# noqa: CODE` directive on every line with a finding, as Ruff adds them.

- The directive goes where `# noqa` is read from (mlflow_lint.noqa, flake8's semantics): the
  finding's line, or, when the line is part of a token that spans lines (a triple-quoted
  string, a backslash continuation), the last line of that token, where a comment can go.
- An existing `# noqa: CODES` on that line gets the new codes merged in (sorted, no
  duplicates), keeping whatever follows them; any other comment stays, and the directive
  follows it (`x = 1  # a comment  # noqa: MLF101`), as Ruff does.
- Findings already suppressed are not reported, so a second run adds nothing: idempotent.
- Notebooks: the directives go into the cells' sources; nothing else in the file changes.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import defaultdict
from collections.abc import Iterable
from typing import Optional

from mlflow_lint import dispatch
from mlflow_lint.config import Settings
from mlflow_lint.noqa import INLINE
from mlflow_lint.results import FileError, FileResult, WriteError
from mlflow_lint.rule import Violation
from mlflow_lint.sourcefile import SourceError, atomic_write, decode, read_bytes

_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
_SEPARATORS = re.compile(r"[,\s]+")


MAX_PASSES = 5


def add_noqa_file(path: str, settings: Settings) -> FileResult:
    """Add the directives to one file; the result's `fixed` is the number of directives added
    or extended. Repeated until the file has no finding left (a suppressed finding can
    uncover another: the rest of a run of consecutive calls), so a second run adds nothing."""
    try:
        data = read_bytes(path)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message))
    current, total = data, 0
    first = None
    for _ in range(MAX_PASSES):
        found = dispatch.check_source(current, path, settings)
        first = first or found
        if found.error is not None:
            if current is data:
                return FileResult(path, error=found.error, parsed=found.parsed)
            message = f"internal error: the added directives broke the file ({found.error.message})"
            return FileResult(path, error=FileError(message + "; not written"), parsed=True)
        if not found.violations:
            break
        try:
            if path.endswith(".ipynb"):
                current, added = _notebook(current, found.violations)
            else:
                source = decode(current)
                text, added = add_directives(source.text, found.violations)
                current = source.encode(text)
        except SourceError as error:
            return FileResult(path, error=FileError(error.message), parsed=True)
        if not added:
            break
        total += added
    if current != data:
        try:
            atomic_write(path, current, expected_on_disk=data)
        except SourceError as error:
            violations = first.violations if first else []
            return FileResult(path, violations, WriteError(error.message), parsed=True)
    return FileResult(
        path, parsed=first.parsed if first else False, fixed=total, changed=current != data
    )


def _notebook(data: bytes, violations: list[Violation]) -> tuple[bytes, int]:
    from mlflow_lint.notebook import Notebook  # only for notebooks

    notebook = Notebook.parse(data)
    by_cell: dict[int, list[Violation]] = defaultdict(list)
    for v in violations:
        if v.cell is not None:
            by_cell[v.cell - 1].append(v)
    changed: dict[int, str] = {}
    total = 0
    for index, cell_violations in by_cell.items():
        source = notebook.sources.get(index)
        if source is None:
            continue
        text, added = add_directives(source, cell_violations)
        if added:
            changed[index] = text
            total += added
    return (notebook.with_sources(changed) if changed else data), total


def add_directives(text: str, violations: Iterable[Violation]) -> tuple[str, int]:
    """`text` with the directives added for `violations`; the number of lines changed."""
    lines = [match.groups() for match in _LINE.finditer(text)]
    if lines and lines[-1] == ("", ""):
        lines.pop()  # the empty match at the very end
    last_line = _last_lines(text, len(lines))
    codes: dict[int, set[str]] = defaultdict(set)
    for v in violations:
        if 1 <= v.line <= len(lines):
            codes[last_line.get(v.line, v.line)].add(v.code)
    comments = _comments(text)
    added = 0
    for number, new_codes in codes.items():
        content, ending = lines[number - 1]
        updated = _with_directive(content, comments.get(number), new_codes)
        if updated != content:
            lines[number - 1] = (updated, ending)
            added += 1
    return "".join(content + ending for content, ending in lines), added


def _with_directive(content: str, comment_column: Optional[int], new_codes: set[str]) -> str:
    if comment_column is not None:
        comment = content[comment_column:]
        match = INLINE.search(comment)
        if match is not None:
            if match.group("codes") is None:
                return content  # a directive without codes already suppresses everything here
            existing = [c for c in _SEPARATORS.split(match.group("codes")) if c]
            merged = sorted(set(existing) | new_codes)
            if len(merged) == len(existing):
                return content
            trailing = " " if match.group("codes")[-1:].isspace() else ""
            start, end = comment_column + match.start(), comment_column + match.end()
            return f"{content[:start]}# noqa: {', '.join(merged)}{trailing}{content[end:]}"
    return f"{content.rstrip()}  # noqa: {', '.join(sorted(new_codes))}"


def _last_lines(text: str, count: int) -> dict[int, int]:
    """Line -> the last line of the group of lines `# noqa` is read from (flake8's mapping:
    lines joined by a token that spans them); lines not listed stand alone."""
    mapping: dict[int, int] = {}
    first, last = count + 2, -1
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            first = min(first, token.start[0])
            last = max(last, token.end[0])
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                mapping.update(dict.fromkeys(range(first, last + 1), last))
                first, last = count + 2, -1
    except (tokenize.TokenError, SyntaxError):
        return {}
    return mapping


def _comments(text: str) -> dict[int, int]:
    """Line -> the column where its comment starts."""
    found: dict[int, int] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = token.start[1]
    except (tokenize.TokenError, SyntaxError):
        pass
    return found
