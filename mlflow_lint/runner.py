"""Finding the files to check and running the engine over them in parallel, in a stable order."""

from __future__ import annotations

import errno
import heapq
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from functools import partial
from itertools import repeat
from typing import Callable, Optional, Protocol

from mlflow_lint.config import Settings, relative_path
from mlflow_lint.results import FileError, FileResult

SOURCE_SUFFIXES = (".py", ".ipynb")  # .ipynb: Jupyter notebooks, see mlflow_lint.notebook
# Below this many files a process pool costs more than it saves.
MIN_FILES_PER_WORKER = 8

Worker = Callable[[str, Settings], FileResult]


def discover(paths: Sequence[str], settings: Settings) -> tuple[list[str], list[FileResult]]:
    """Files to check, sorted, and one error result per path that could not be listed.
    Files named explicitly are checked unless --force-exclude excludes them; directories are
    searched for Python files and notebooks, skipping excluded names and virtual environments,
    never following directory symlinks."""
    files: set[str] = set()
    errors: list[FileResult] = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError as error:
            if not os.path.lexists(path) and error.errno in (errno.ENOENT, errno.ENOTDIR):
                errors.append(FileResult(path, error=FileError("no such file or directory")))
                continue
            if os.path.islink(path):  # a dangling or looping symlink: the engine reports it
                if not settings.excludes_named_file(path):
                    files.add(os.path.normpath(path))
                continue
            reason = error.strerror or str(error)
            errors.append(FileResult(path, error=FileError(f"cannot access: {reason}")))
            continue
        if stat.S_ISDIR(info.st_mode):
            if settings.force_exclude and settings.excludes_named_file(path):
                continue
            _walk(path, settings, files, errors)
        elif not settings.excludes_named_file(path):
            files.add(os.path.normpath(path))
    return sorted(files), errors


def _walk(root: str, settings: Settings, files: set[str], errors: list[FileResult]) -> None:
    def on_error(error: OSError) -> None:
        where = error.filename or root
        errors.append(
            FileResult(where, error=FileError(f"cannot list directory: {error.strerror}"))
        )

    # each directory's path relative to the project root, built on the way down
    relative_of = {root: relative_path(root, settings.root)}
    for directory, subdirs, names in os.walk(root, onerror=on_error):
        relative = relative_of.pop(directory)
        if directory != root and "pyvenv.cfg" in names:
            subdirs[:] = []  # a virtual environment: its listing says so, no stat per directory
            continue
        prefix = "" if relative == "." else relative + "/"
        kept = []
        for d in subdirs:
            if not settings.excludes_entry(d, prefix + d):
                kept.append(d)
                relative_of[os.path.join(directory, d)] = prefix + d
        subdirs[:] = sorted(kept)
        base = None  # the directory's normalized path, once per directory rather than per file
        for name in names:
            if name.endswith(SOURCE_SUFFIXES) and not settings.excludes_entry(name, prefix + name):
                if base is None:
                    base = os.path.normpath(directory)
                    base = "" if base == "." else os.path.join(base, "")
                files.add(base + name)


def default_jobs() -> int:
    # pre-commit already runs hooks in parallel across files: do not nest a pool inside it.
    if os.environ.get("PRE_COMMIT") == "1":
        return 1
    return os.cpu_count() or 1


class Index(Protocol):
    """Results known from an earlier run (cache.StatIndex)."""

    def get(self, path: str) -> Optional[FileResult]: ...
    def put(self, path: str, result: FileResult) -> None: ...
    def save(self) -> None: ...


def run(
    files: Sequence[str],
    worker: Worker,
    settings: Settings,
    jobs: int,
    index: Optional[Index] = None,
) -> Iterator[FileResult]:
    """Results in the order of `files`, whatever the parallelism, streamed as they complete.
    With an `index`, files it knows are not handed to the worker, and the others' results
    are recorded in it (saved once all are done)."""
    if index is None:
        yield from _run(files, worker, settings, jobs)
        return
    known = {path: index.get(path) for path in files}
    fresh = _run([p for p, r in known.items() if r is None], worker, settings, jobs)
    for path in files:
        result = known[path]
        if result is None:
            result = next(fresh)
            index.put(path, result)
        yield result
    index.save()


def _run(
    files: Sequence[str], worker: Worker, settings: Settings, jobs: int
) -> Iterator[FileResult]:
    if jobs <= 1 or len(files) < MIN_FILES_PER_WORKER * 2:
        yield from (worker(path, settings) for path in files)
        return
    jobs = min(jobs, len(files) // MIN_FILES_PER_WORKER)
    chunksize = max(1, min(32, len(files) // (jobs * 8)))
    import multiprocessing  # here: a run served from the cache never starts a pool
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        yield from pool.map(worker, files, repeat(settings), chunksize=chunksize)


def run_paths(
    paths: Sequence[str],
    worker: Worker,
    settings: Settings,
    jobs: int,
    index: Optional[Index] = None,
) -> Iterator[FileResult]:
    """Discover, then run; listing errors are merged into the stream in path order."""
    files, errors = discover(paths, settings)
    return run_discovered(files, errors, worker, settings, jobs, index)


def run_discovered(
    files: Sequence[str],
    errors: list[FileResult],
    worker: Worker,
    settings: Settings,
    jobs: int,
    index: Optional[Index] = None,
) -> Iterator[FileResult]:
    """`run` over discovered files, with the listing errors merged in, in path order."""
    errors = sorted(errors, key=lambda r: r.path)
    results = run(files, worker, settings, jobs, index)
    return heapq.merge(results, errors, key=lambda r: r.path)


def with_write(worker: Callable[..., FileResult], write: bool) -> Worker:
    return partial(worker, write=write)
