"""`# noqa` with flake8's exact semantics, so the CLI and the flake8 plugin agree.

- `# noqa` on the reported line suppresses everything there; `# noqa: MLF101,MLF1` suppresses
  codes equal to or starting with a listed code (flake8 7, style_guide / violation.py).
- The "line" is the physical line, except that a token spanning lines (a triple-quoted string,
  a backslash continuation) joins them, as flake8's `_noqa_line_mapping` does.
- A line matching `# flake8: noqa` at its start turns the whole file off.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Sequence
from typing import Optional

INLINE = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
FILE_LEVEL = re.compile(r"\s*# flake8[:=]\s*noqa", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,\s]")
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def file_is_ignored(lines: Sequence[str]) -> bool:
    return any(FILE_LEVEL.match(line) for line in lines)


def _line_mapping(text: str, lines: Sequence[str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    first, last = len(lines) + 2, -1
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            first = min(first, token.start[0])
            last = max(last, token.end[0])
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                joined = "".join(lines[first - 1 : last])
                mapping.update(dict.fromkeys(range(first, last + 1), joined))
                first, last = len(lines) + 2, -1
    except (tokenize.TokenError, SyntaxError):
        return {}
    return mapping


def is_suppressed(code: str, line_text: Optional[str]) -> bool:
    if line_text is None:
        return False
    match = INLINE.search(line_text)
    if match is None:
        return False
    codes_text = match.group("codes")
    if codes_text is None:
        return True
    codes = tuple(c.strip() for c in _SEPARATORS.split(codes_text) if c.strip())
    return code in codes or code.startswith(codes)


class NoqaFilter:
    """Answers "is this finding suppressed?" for one file; tokenizes only if `noqa` occurs."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._has_noqa = "noqa" in text.lower()
        self._lines: Optional[list[str]] = None
        self._mapping: Optional[dict[int, str]] = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            # Python's own line breaks only: str.splitlines would also split on form feeds
            self._lines = _LINES.findall(self._text)
        return self._lines

    def file_ignored(self) -> bool:
        return self._has_noqa and file_is_ignored(self.lines)

    def suppressed(self, code: str, line: int) -> bool:
        if not self._has_noqa:
            return False
        if self._mapping is None:
            self._mapping = _line_mapping(self._text, self.lines)
        return is_suppressed(code, self._mapping.get(line))
