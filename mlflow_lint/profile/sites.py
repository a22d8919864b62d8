"""Which code is the user's own: the frames a request is credited to.

A frame is the user's unless its file belongs to MLflow, to mlflow-lint, to the standard
library or to an installed package (anything under a `site-packages` or `dist-packages`
directory, or the interpreter's own library directories). Code compiled from a string
(`<string>`, `<frozen ...>`) is not the user's either. A helper of the user's that calls
MLflow is user code: its line is where the request is credited.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import site
import sysconfig
from collections.abc import Iterable

_PACKAGE_DIRS = ("site-packages", "dist-packages")


def _mlflow_dirs() -> list[str]:
    """The directories of the `mlflow` package, found without importing it."""
    try:
        spec = importlib.util.find_spec("mlflow")
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    return list(spec.submodule_search_locations or [])


def _library_roots() -> list[str]:
    roots: set[str] = set()
    paths = sysconfig.get_paths()
    # "scripts": the environment's bin directory, where the `mlflow-lint` entry point is
    for key in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):
        if paths.get(key):
            roots.add(paths[key])
    with contextlib.suppress(AttributeError):  # some embedded interpreters lack it
        roots.update(site.getsitepackages())
    user_site = getattr(site, "getusersitepackages", None)
    if user_site is not None:
        roots.add(user_site())
    roots.update(_mlflow_dirs())
    roots.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # mlflow_lint
    return sorted({os.path.realpath(r) for r in roots if r})


class CodeFilter:
    """`is_user(filename)`: whether a code object's file is the user's own code (cached)."""

    def __init__(self, extra_roots: Iterable[str] = ()) -> None:
        roots = [*_library_roots(), *(os.path.realpath(r) for r in extra_roots)]
        self._roots = tuple(r.rstrip(os.sep) + os.sep for r in roots)
        self._user: dict[str, bool] = {}
        self._paths: dict[str, str] = {}

    def is_user(self, filename: str) -> bool:
        found = self._user.get(filename)
        if found is None:
            found = self._user[filename] = self._classify(filename)
        return found

    def _classify(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):
            return False
        real = os.path.realpath(filename)
        if any(part in _PACKAGE_DIRS for part in real.split(os.sep)):
            return False
        return not real.startswith(self._roots)

    def path(self, filename: str) -> str:
        """The absolute path a report names for a code object's file."""
        found = self._paths.get(filename)
        if found is None:
            found = self._paths[filename] = os.path.abspath(filename)
        return found


def display_path(path: str, cwd: str) -> str:
    """`path` relative to `cwd` when it lies below it."""
    try:
        relative = os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith(os.pardir) else relative
