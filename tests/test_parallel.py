"""The process pool behind `--jobs N`: the calling process works too, and the results come
back in the order of the files whatever process checked them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mlflow_lint.config import Settings, build_settings
from mlflow_lint.results import FileResult
from mlflow_lint.runner import _run

SETTINGS = build_settings(None)


def _slow_worker(path: str, settings: Settings) -> FileResult:
    time.sleep(0.005)  # long enough that neither process can take every chunk alone
    return FileResult(f"{path}@{os.getpid()}")


def test_every_process_checks_files_and_results_keep_the_files_order() -> None:
    files = [f"pkg/mod{i:03}.py" for i in range(200)]
    results = list(_run(files, _slow_worker, SETTINGS, jobs=2))
    assert [r.path.split("@")[0] for r in results] == files
    pids = {r.path.split("@")[1] for r in results}
    # one worker process, and this one taking the chunks it has not started
    assert str(os.getpid()) in pids
    assert len(pids) == 2


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
