"""The caches of `check`: a warm re-run of an unchanged tree costs less than reading the files.

Two layers, under `.mlflow-lint-cache/` in the project root (with its own `.gitignore`):

- the content cache: one entry per analysed file, keyed by the file's bytes, its path
  (findings carry no path, but per-file-ignores depend on it), the tool version and the
  effective configuration, so a changed file, version or configuration is never served from
  it. Files the byte prefilter skips are not stored: the prefilter is cheaper than a lookup.
- the stat index (`StatIndex`), one per configuration and version: every file's result (or
  "skipped by the prefilter") with the file's size, mtime, ctime, inode and device when it was
  read. A file whose `os.stat` still says the same is not read at all. ctime changes with
  every write and cannot be set back, so a changed file never matches; a file written less
  than two seconds before the run started is not recorded (its next write could fall in the
  same clock tick, as git's "racily clean" entries), and is read again next time.

Writes are atomic (temp file + rename), so concurrent runs never read half an entry; the last
run to finish writes the index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

from mlflow_lint import __version__
from mlflow_lint.config import Settings
from mlflow_lint.results import FileError, FileResult
from mlflow_lint.rule import Edit, Fix, Safety, Violation
from mlflow_lint.sourcefile import SourceError, read_bytes

DIRECTORY = ".mlflow-lint-cache"
_FORMAT = 3  # bump when the stored layout changes (2 was JSON findings as dicts)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The linter's own code, by file size and mtime: an edited rule (a development checkout,
    an editable install) never serves results the old code computed, whatever the version."""
    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(package.rglob("*.py")):
        try:
            info = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(package)}:{info.st_size}:{info.st_mtime_ns};".encode())
    return digest.hexdigest()


def settings_fingerprint(settings: Settings) -> str:
    """Everything in the configuration (and the code) that can change what a file's analysis
    returns."""
    relevant = {
        "codes": settings.codes,
        "root": os.path.abspath(settings.root),
        "per_file_ignores": settings.per_file_ignores,
        "respect_noqa": settings.respect_noqa,
        "rule_options": {
            code: dict(sorted(o.items())) for code, o in sorted(settings.rule_options.items())
        },
        "version": __version__,
        "code": code_fingerprint(),
        "format": _FORMAT,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=list).encode()).hexdigest()


class Cache:
    def __init__(self, root: str, settings: Settings) -> None:
        self.directory = Path(root) / DIRECTORY
        self.fingerprint = settings_fingerprint(settings)

    def _path(self, data: bytes, path: str) -> Path:
        digest = hashlib.blake2b(data, digest_size=20)
        digest.update(b"\0" + os.path.abspath(path).encode("utf-8", "surrogateescape"))
        digest.update(self.fingerprint.encode())
        key = digest.hexdigest()
        return self.directory / key[:2] / key

    def get(self, data: bytes, path: str) -> Optional[FileResult]:
        try:
            stored = json.loads(self._path(data, path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            return _result_from_json(stored, path)
        except (KeyError, TypeError, ValueError):
            return None  # an entry from another layout: analyse again

    def put(self, data: bytes, result: FileResult) -> None:
        if not result.parsed:
            return
        target = self._path(data, result.path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _ensure_gitignore(self.directory)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(_result_to_json(result), handle, separators=(",", ":"))
            os.replace(temp, target)
        except OSError:
            pass  # a read-only tree still gets checked, just not cached


def _ensure_gitignore(directory: Path) -> None:
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# created by mlflow-lint\n*\n")


def _result_to_json(result: FileResult) -> dict[str, Any]:
    """A result as compact JSON, in proportion to its findings: each text (a code, a name, a
    message, a fix's description or code) stored once in `strings` and named by its index;
    a finding is a list of numbers, its lines relative to the one before."""
    strings: dict[str, int] = {}

    def ref(text: str) -> int:
        return strings.setdefault(text, len(strings))

    rows: list[list[Any]] = []
    previous_line = 0
    for v in result.violations:
        row: list[Any] = [
            ref(v.code),
            ref(v.name),
            ref(v.message),
            ref(v.help),
            v.line - previous_line,
            v.column,
            v.end_line - v.line,
            v.end_column,
        ]
        previous_line = v.line
        if v.fix is not None or v.cell is not None:
            row.append(_fix_to_json(v.fix, ref) if v.fix is not None else None)
        if v.cell is not None:
            row.append(v.cell)
        rows.append(row)
    return {
        "strings": list(strings),
        "violations": rows,
        "error": dataclasses.asdict(result.error) if result.error else None,
        "skipped": result.skipped,
        "notes": result.notes,
    }


def _fix_to_json(fix: Fix, ref: Callable[[str], int]) -> list[Any]:
    edits = [
        [
            e.start,
            e.end - e.start,
            ref(e.content),
            e.start_line,
            e.start_column,
            e.end_line - e.start_line,
            e.end_column,
            e.cell,
        ]
        for e in fix.edits
    ]
    return [ref(fix.description), fix.safety.value, edits]


def _result_from_json(stored: dict[str, Any], path: str) -> FileResult:
    strings: list[str] = stored["strings"]
    violations = []
    line = 0
    for row in stored["violations"]:
        code, name, message, help_text, line_delta, column, lines, end_column = row[:8]
        line += line_delta
        fix = None
        if len(row) > 8 and row[8] is not None:
            description, safety, edits = row[8]
            fix = Fix(
                strings[description],
                Safety(safety),
                tuple(
                    Edit(start, start + length, strings[content], sl, sc, sl + ls, ec, cell)
                    for start, length, content, sl, sc, ls, ec, cell in edits
                ),
            )
        violations.append(
            Violation(
                strings[code],
                strings[name],
                strings[message],
                line,
                column,
                line + lines,
                end_column,
                fix,
                cell=row[9] if len(row) > 9 else None,
                help=strings[help_text],
            )
        )
    error = FileError(**stored["error"]) if stored["error"] else None
    return FileResult(
        path,
        violations,
        error,
        parsed=True,
        skipped=stored.get("skipped", ""),
        notes=list(stored.get("notes", ())),
    )


Signature = tuple[int, int, int, int, int]
RACY_NANOSECONDS = 2_000_000_000


def _signature(info: os.stat_result) -> Signature:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


class StatIndex:
    """Results by path and `os.stat` signature, for one configuration (see the module doc)."""

    def __init__(self, root: str, settings: Settings) -> None:
        self.fingerprint = fingerprint = settings_fingerprint(settings)
        self.path = Path(root) / DIRECTORY / f"index-{fingerprint[:24]}.json"
        self.started = time.time_ns()
        self.cwd = os.getcwd()  # os.path.abspath asks the system for it on every call
        self.directories: dict[str, str] = {}  # absolute, normalized, with a trailing separator
        self.entries: dict[str, list[Any]] = {}
        self.seen: dict[str, Signature] = {}  # signatures of this run's lookups
        self.changed = False
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            if stored.get("format") == _FORMAT and stored.get("fingerprint") == fingerprint:
                self.entries = stored["entries"]
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            pass  # no index yet, or another layout: start a new one

    def get(self, path: str) -> Optional[FileResult]:
        """The stored result, when the file has the signature it had when it was checked."""
        key = self._absolute(path)
        try:
            signature = _signature(os.stat(key))
        except OSError:
            return None  # let the engine report it
        self.seen[key] = signature
        entry = self.entries.get(key)
        if entry is None or tuple(entry[:5]) != signature:
            return None
        try:
            stored = entry[5]
            return FileResult(path) if stored is None else _result_from_json(stored, path)
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, path: str, result: FileResult) -> None:
        """Record a fresh result under the signature `get` saw before the file was read."""
        key = self._absolute(path)
        signature = self.seen.get(key)
        if signature is None or (result.error is not None and not result.parsed):
            return  # never seen, or not read (the next run reports it again)
        if signature[1] >= self.started - RACY_NANOSECONDS:
            self.entries.pop(key, None)  # racily new: its content decides next time
        else:
            stored = _result_to_json(result) if result.parsed else None
            self.entries[key] = [*signature, stored]
        self.changed = True

    def _absolute(self, path: str) -> str:
        directory, name = os.path.split(path)
        absolute = self.directories.get(directory)
        if absolute is None:  # once per directory, not per file: normpath is slow
            absolute = os.path.join(os.path.normpath(os.path.join(self.cwd, directory)), "")
            self.directories[directory] = absolute
        return absolute + name

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _ensure_gitignore(self.path.parent)
            payload = {
                "format": _FORMAT,
                "fingerprint": self.fingerprint,
                "entries": self.entries,
            }
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, separators=(",", ":"))
            os.replace(temp, self.path)
        except OSError:
            pass  # a read-only tree still gets checked, just not indexed


_caches: dict[str, Cache] = {}


def check_file(path: str, settings: Settings) -> FileResult:
    """`dispatch.check_file` through the cache (one Cache per process and configuration)."""
    from mlflow_lint import dispatch, engine  # the engine module stays free of cache concerns

    try:
        data = read_bytes(path)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message))
    # a notebook is read (one JSON parse) before its own prefilter: corrupt ones are errors
    notebook = dispatch.is_notebook(path)
    if not notebook and not engine.may_hold_findings(data, settings.rule_infos_for(path)):
        return FileResult(path)
    key = settings_fingerprint(settings)
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = Cache(settings.root, settings)
    cached = cache.get(data, path)
    if cached is not None:
        return cached
    result = dispatch.check_source(data, path, settings)
    cache.put(data, result)
    return result
