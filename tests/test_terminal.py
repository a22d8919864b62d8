"""The installed command on a real terminal (a pty, through pexpect) and in watch mode: the
`full` format and colour by default on a terminal, a progress bar on standard error for a run
that takes more than a second, and none of them in pipes, files, CI or pre-commit."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

import pexpect
import pytest
from conftest import MLFLOW_LINT
from test_cli import FLAGGED, write

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# tqdm's bar: "mlflow-lint:  40%|####      | 60/150 [00:01<00:01, 45.0file/s]"
PROGRESS = re.compile(r"mlflow-lint: +\d+%\|")


def terminal_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PRE_COMMIT", "PRE_COMMIT_COLOR", "CI", "NO_COLOR", "FORCE_COLOR")
    }
    env.update(TERM="xterm-256color", COLUMNS="120", **extra)
    return env


def on_terminal(
    command: str, cwd: Path, env: Optional[dict[str, str]] = None, timeout: int = 600
) -> tuple[str, int]:
    """Run `command` (through bash) with a pty as its terminal; (what the terminal got, exit
    status)."""
    child = pexpect.spawn(
        "bash",
        ["-c", command],
        cwd=str(cwd),
        env=env or terminal_env(),
        encoding="utf-8",
        codec_errors="replace",
        timeout=timeout,
        dimensions=(50, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    return child.before, child.exitstatus


def many_files(directory: Path, count: int = 150) -> None:
    """Enough parsed files for a run of more than a second."""
    body = "import mlflow\n" + "".join(
        f"def f{i}(x):\n    for s in range(3):\n        mlflow.log_metric('k{i}', s, step=s)\n"
        for i in range(12)
    )
    for i in range(count):
        write(directory, f"pkg/m{i:03d}.py", body)


def test_full_format_in_colour_on_a_terminal(tmp_path: Path) -> None:
    write(tmp_path, "train.py", FLAGGED)
    screen, status = on_terminal(f"{MLFLOW_LINT} check train.py", tmp_path)
    assert status == 1
    assert ANSI.search(screen), "colour on a terminal"
    plain = ANSI.sub("", screen).replace("\r\n", "\n")
    assert "MLF101 `mlflow.log_metric` in a loop" in plain
    assert " --> train.py:3:5\n" in plain  # the full format, the default on a terminal
    assert "  |     ^^^^" in plain
    no_colour, _ = on_terminal(
        f"{MLFLOW_LINT} check train.py", tmp_path, terminal_env(NO_COLOR="1")
    )
    assert not ANSI.search(no_colour) and " --> train.py:3:5" in no_colour
    concise, _ = on_terminal(f"{MLFLOW_LINT} check --output-format concise train.py", tmp_path)
    assert ANSI.sub("", concise).startswith("train.py:3:5: MLF101 ")


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    many_files(tmp_path)
    command = f"{MLFLOW_LINT} check --no-cache --jobs 1 --output-format concise pkg"
    # standard output to a file, standard error on the terminal: the bar is on standard error
    screen, status = on_terminal(f"{command} > out.txt", tmp_path)
    assert status == 1
    assert PROGRESS.search(screen), screen[-2000:]
    report = (tmp_path / "out.txt").read_text()
    assert "mlflow-lint:" not in report and not ANSI.search(report)
    assert report.endswith("Found 1800 findings in 150 files. 150 files checked.\n")
    # both on the terminal: every finding line is whole, the bar cleared (a carriage return
    # and blanks) before it, as the terminal shows it: what follows the last carriage return
    screen, _ = on_terminal(command, tmp_path)
    lines = [ANSI.sub("", line) for line in screen.replace("\r\n", "\n").split("\n")]
    shown = [line.split("\r")[-1] for line in lines]
    findings = [line for line in shown if ": MLF101 " in line]
    assert len(findings) == 1800
    assert all(re.fullmatch(r"pkg/m\d{3}\.py:\d+:9: MLF101 .*", line) for line in findings)
    assert all(not line.split("\r")[-1].startswith("mlflow-lint:") for line in lines[-3:])
    # never under pre-commit or CI, even on a terminal
    for env in (terminal_env(PRE_COMMIT="1"), terminal_env(CI="true")):
        screen, _ = on_terminal(command, tmp_path, env)
        assert not PROGRESS.search(screen)
        if "PRE_COMMIT" in env:  # pre-commit decides (PRE_COMMIT_COLOR; unset: no colour)
            assert not ANSI.search(screen)
    # and never in a pipe
    piped = subprocess.run(
        [str(MLFLOW_LINT), *command.split()[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=terminal_env(),
        timeout=600,
    )
    assert piped.stderr == ""


def test_watch_checks_again_when_a_file_changes(tmp_path: Path) -> None:
    pytest.importorskip("watchfiles")  # the `watch` extra, in the test dependencies
    write(tmp_path, "clean.py", "import mlflow\n")
    process = subprocess.Popen(
        [str(MLFLOW_LINT), "check", "--watch", "--output-format", "concise", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=terminal_env(),
    )
    out: queue.Queue[tuple[str, str]] = queue.Queue()

    def pump(name: str, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            out.put((name, line))

    for name, stream in (("stdout", process.stdout), ("stderr", process.stderr)):
        threading.Thread(target=pump, args=(name, stream), daemon=True).start()
    seen: list[tuple[str, str]] = []

    def wait_for(pattern: str, times: int = 1, deadline: float = 120) -> None:
        # stdout and stderr are separate pipes: lines of one re-check can arrive in
        # either order, so count matches over everything seen so far.
        end = time.monotonic() + deadline
        while sum(bool(re.search(pattern, line)) for _, line in seen) < times:
            if time.monotonic() > end:
                raise AssertionError(f"{pattern!r} not {times}x in {seen}")
            try:
                seen.append(out.get(timeout=1))
            except queue.Empty:
                continue

    failure: Optional[BaseException] = None
    try:
        wait_for(r"Watching for file changes")
        wait_for(r"^All checks passed! 1 file checked\.$")
        time.sleep(0.5)
        write(tmp_path, "train.py", FLAGGED)
        wait_for(r"^train\.py:3:5: MLF101 ")
        wait_for(r"Watching for file changes", times=2)
        (tmp_path / "train.py").write_text(FLAGGED.replace("log_metric", "log_metrix"))
        wait_for(r"^All checks passed! 2 files checked\.")
    except BaseException as error:  # reported below, after the process is stopped
        failure = error
    process.send_signal(signal.SIGINT)
    try:
        status = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(
            f"still running 60 s after SIGINT ({failure!r}); saw {seen}"
        ) from failure
    if failure is not None:
        raise failure
    assert status == 0
    time.sleep(0.2)
    while not out.empty():
        seen.append(out.get())
    assert not any("Traceback" in line for _, line in seen), seen


def test_ctrl_c_ends_a_watch_cleanly_right_after_a_round(tmp_path: Path) -> None:
    """Ctrl-C just as a round ends (the moment a user reads the report) exits 0 with no
    "Aborted!" and no warning from the file watcher: stopping is what was asked for."""
    pytest.importorskip("watchfiles")
    write(tmp_path, "clean.py", "import mlflow\n")
    for _ in range(3):
        process = subprocess.Popen(
            [str(MLFLOW_LINT), "check", "--watch", "."],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=terminal_env(),
        )
        assert process.stderr is not None
        first = process.stderr.readline()
        second = process.stderr.readline()
        process.send_signal(signal.SIGINT)
        stdout, rest = process.communicate(timeout=60)
        assert (first, second.split("] ")[-1]) == (
            "Starting mlflow-lint in watch mode...\n",
            "Watching for file changes.\n",
        )
        assert process.returncode == 0, rest
        assert rest == "", rest
        assert stdout == "All checks passed! 1 file checked.\n"
