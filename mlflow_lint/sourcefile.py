"""Bytes to text and back without losing anything: encoding, BOM, line endings, file mode."""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
import tokenize
from dataclasses import dataclass

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
FSTRING_MIDDLE = getattr(tokenize, "FSTRING_MIDDLE", -1)  # Python 3.12+ tokenizes f-strings


class SourceError(Exception):
    """A file that cannot be read, decoded or parsed; becomes one diagnostic."""

    def __init__(self, message: str, line: int = 1, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column  # 0-based


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str  # as tokenize names it; "utf-8-sig" when the file has a BOM
    newline: str  # the file's first line ending, used for inserted lines

    def encode(self, text: str) -> bytes:
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as error:
            raise SourceError(f"fixed code cannot be encoded as {self.encoding}: {error}") from None


def decode(data: bytes) -> SourceText:
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        raise SourceError("file contains NUL bytes (binary file?)", line)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"invalid encoding declaration: {error}", error.lineno or 1) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1)
        raise SourceError(
            f"cannot decode as {encoding}: invalid byte {data[error.start : error.start + 1]!r}",
            line,
            column,
        ) from None
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}") from None
    return SourceText(text, encoding, first_newline(text))


def first_newline(text: str) -> str:
    """The file's line ending, as its first line has it; used for lines a fix inserts."""
    match = _LINE_BREAK.search(text)
    return match.group() if match else "\n"


def line_starts(text: str) -> list[int]:
    """Offsets where each line starts, splitting only on Python's line breaks."""
    return [0, *(m.end() for m in _LINE_BREAK.finditer(text))]


def indent_following_lines(code: str, indent: str, newline: str = "\n") -> str:
    """Indent every line of `code` but the first and end lines with `newline`, except where a
    line break is inside a multi-line string: there the text is the string's value."""
    if "\n" not in code:
        return code
    inside_string: set[int] = set()  # lines that start inside a string token
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.STRING or token.type == FSTRING_MIDDLE:
                inside_string.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # the re-parse after the fix reports anything wrong
    lines = code.split("\n")
    out = [lines[0]]
    for number, line in enumerate(lines[1:], start=2):
        if number in inside_string:
            out.append("\n" + line)
            continue
        if out[-1].endswith("\r"):
            out[-1] = out[-1][:-1]
        out.append(newline + (indent + line if line else line))
    return "".join(out)


def read_bytes(path: str) -> bytes:
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise SourceError("is a directory")
        if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
            raise SourceError("not a regular file")
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None


_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def atomic_write(path: str, data: bytes, expected_on_disk: bytes) -> None:
    """Replace the file's contents all at once, keeping its mode; refuse if the file changed
    since it was read (another editor, a concurrent `fix`) or is read-only."""
    real = os.path.realpath(path)  # write through symlinks, never replace them
    try:
        info = os.stat(real)
        # no write bit at all: read-only on purpose, even for root (who may write anyway)
        if not os.access(real, os.W_OK) or not info.st_mode & _WRITE_BITS:
            raise SourceError("file is read-only; not fixed")
        # the fixed file is written next to it and renamed over it: the directory must let us
        directory = os.path.dirname(real) or "."
        if not os.access(directory, os.W_OK) or not os.stat(directory).st_mode & _WRITE_BITS:
            shown = os.path.dirname(path) or "."
            raise SourceError(f"cannot write {shown}: directory is not writable; not fixed")
        fd, temp = tempfile.mkstemp(
            prefix=".mlflow-lint-", suffix=".tmp", dir=os.path.dirname(real)
        )
    except OSError as error:
        raise SourceError(f"cannot write: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        with open(real, "rb") as handle:
            if handle.read() != expected_on_disk:
                raise SourceError("file changed on disk while it was being fixed; not written")
        os.replace(temp, real)
    except OSError as error:
        os.unlink(temp)
        raise SourceError(f"cannot write: {error.strerror or error}") from None
    except BaseException:
        os.unlink(temp)
        raise
