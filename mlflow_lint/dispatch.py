"""One file, whatever its kind: Python source goes through the engine (engine.py), Jupyter
notebooks (`.ipynb`) through notebook.py, which builds a Python module from their code cells
and hands it to the same engine.

The command line, the cache, the flake8 plugin and the language server call these functions;
the engine itself knows nothing of notebooks (no module imports one above it).
"""

from __future__ import annotations

from typing import Optional

from mlflow_lint.config import Settings
from mlflow_lint.results import FileError, FileResult
from mlflow_lint.sourcefile import SourceError, atomic_write, read_bytes

# The engine is imported with the first file to analyse and notebook.py with the first
# notebook: a warm run from the cache pays for neither, a run over Python files not for notebooks
NOTEBOOK_SUFFIX = ".ipynb"


def is_notebook(path: str) -> bool:
    return path.endswith(NOTEBOOK_SUFFIX)


def check_source(data: bytes, path: str, settings: Settings) -> FileResult:
    if is_notebook(path):
        from mlflow_lint import notebook

        return notebook.check_source(data, path, settings)
    from mlflow_lint import engine

    return engine.check_source(data, path, settings)


def fix_source(data: bytes, path: str, settings: Settings) -> tuple[FileResult, Optional[bytes]]:
    """The result (the findings that remain) and the new bytes, or None when nothing changed
    or anything failed."""
    if is_notebook(path):
        from mlflow_lint import notebook

        return notebook.fix_source(data, path, settings)
    from mlflow_lint import engine

    return engine.fix_source(data, path, settings)


def check_file(path: str, settings: Settings) -> FileResult:
    if not is_notebook(path):
        from mlflow_lint import engine

        return engine.check_file(path, settings)
    try:
        data = read_bytes(path)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message))
    from mlflow_lint import notebook

    return notebook.check_source(data, path, settings)


def fix_file(path: str, settings: Settings, write: bool = True) -> FileResult:
    if not is_notebook(path):
        from mlflow_lint import engine

        return engine.fix_file(path, settings, write)
    try:
        data = read_bytes(path)
    except SourceError as error:
        return FileResult(path, error=FileError(error.message))
    from mlflow_lint import notebook

    result, new_data = notebook.fix_source(data, path, settings)
    if new_data is not None and not write:
        # nothing is written: report what would remain where it is now, in the file on disk
        # (and count as moot only what these do not list: the counts still add up)
        result.moot = max(result.moot + len(result.violations) - len(result.unfixable), 0)
        result.violations = result.unfixable
    if new_data is not None and write:
        try:
            atomic_write(path, new_data, expected_on_disk=data)
        except SourceError as error:
            return FileResult(path, error=FileError(error.message), parsed=True)
    return result
