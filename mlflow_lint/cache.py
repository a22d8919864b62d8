"""A content cache for `check`: a warm re-run of an unchanged tree costs little more than reading
the files.

An entry is keyed by the file's bytes, its path (findings carry no path, but per-file-ignores
depend on it), the tool version and the effective configuration, so a changed file, version or
configuration is never served from the cache. Only files that were actually analysed are
cached: the others are skipped by the byte prefilter, which is cheaper than a lookup. Entries
live under `.mlflow-lint-cache/` in the project root, which carries its own `.gitignore`.
Writes are atomic (temp file + rename), so concurrent runs never read half an entry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

from mlflow_lint import __version__
from mlflow_lint.config import Settings
from mlflow_lint.engine import FileError, FileResult
from mlflow_lint.rule import Edit, Fix, Safety, Violation
from mlflow_lint.sourcefile import SourceError, read_bytes

DIRECTORY = ".mlflow-lint-cache"
_FORMAT = 1  # bump when the stored layout changes


def settings_fingerprint(settings: Settings) -> str:
    """Everything in the configuration that can change what a file's analysis returns."""
    relevant = {
        "codes": settings.codes,
        "root": os.path.abspath(settings.root),
        "per_file_ignores": settings.per_file_ignores,
        "respect_noqa": settings.respect_noqa,
        "rule_options": {
            code: dict(sorted(o.items())) for code, o in sorted(settings.rule_options.items())
        },
        "version": __version__,
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
            self._ensure_gitignore()
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(_result_to_json(result), handle)
            os.replace(temp, target)
        except OSError:
            pass  # a read-only tree still gets checked, just not cached

    def _ensure_gitignore(self) -> None:
        ignore = self.directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by mlflow-lint\n*\n")


def _result_to_json(result: FileResult) -> dict[str, Any]:
    return {
        "violations": [dataclasses.asdict(v) for v in result.violations],
        "error": dataclasses.asdict(result.error) if result.error else None,
    }


def _result_from_json(stored: dict[str, Any], path: str) -> FileResult:
    violations = []
    for item in stored["violations"]:
        fix = item.pop("fix")
        if fix is not None:
            edits = tuple(Edit(**edit) for edit in fix["edits"])
            fix = Fix(fix["description"], Safety(fix["safety"]), edits)
        violations.append(Violation(**item, fix=fix))
    error = FileError(**stored["error"]) if stored["error"] else None
    return FileResult(path, violations, error, parsed=True)


_caches: dict[str, Cache] = {}


def check_file(path: str, settings: Settings) -> FileResult:
    """`engine.check_file` through the cache (one Cache per process and configuration)."""
    from mlflow_lint import engine  # the engine module stays free of cache concerns

    try:
        data = read_bytes(path)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message))
    if not engine.may_hold_findings(data, settings.rules_for(path)):
        return FileResult(path)
    key = settings_fingerprint(settings)
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = Cache(settings.root, settings)
    cached = cache.get(data, path)
    if cached is not None:
        return cached
    result = engine.check_source(data, path, settings)
    cache.put(data, result)
    return result
