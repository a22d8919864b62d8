"""The process pool behind `--jobs N`: results come back in the order of the files, and a
consumer that stops early leaves no work running behind it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mlflow_lint.config import Settings, build_settings
from mlflow_lint.results import FileResult
from mlflow_lint.runner import _run

SETTINGS = build_settings(None)


def _logging_worker(path: str, settings: Settings) -> FileResult:
    time.sleep(0.005)
    with open(os.environ["CHECKED_LOG"], "a") as log:  # one short line: appends stay whole
        log.write(path + "\n")
    return FileResult(path)


def test_a_consumer_that_stops_early_leaves_no_work_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "checked.txt"
    monkeypatch.setenv("CHECKED_LOG", str(log))  # the forked worker inherits it
    files = [f"pkg/mod{i:03}.py" for i in range(400)]
    stream = _run(files, _logging_worker, SETTINGS, jobs=2)
    assert next(stream).path == files[0]
    stream.close()  # the chunks not started are cancelled, not checked
    checked = log.read_text().split()
    assert len(checked) == len(set(checked)) < len(files) // 2


def test_results_keep_the_files_order_whatever_process_checked_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHECKED_LOG", str(tmp_path / "checked.txt"))
    files = [f"pkg/mod{i:03}.py" for i in range(200)]
    assert [r.path for r in _run(files, _logging_worker, SETTINGS, jobs=2)] == files
