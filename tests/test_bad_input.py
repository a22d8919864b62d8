"""Bad input gets one clear diagnostic with its location; the run goes on with other files."""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional

import pytest
from conftest import MLFLOW_LINT, run_cli
from test_cli import FLAGGED, write

MLFLOW_HEAD = b"import mlflow\nmlflow.log_metric('k', 1)\n"


def check_with_good_file(tmp_path: Path, *args: str):
    write(tmp_path, "zz_good.py", FLAGGED)
    result = run_cli("check", *args, ".", cwd=tmp_path)
    assert "Traceback" not in result.stdout + result.stderr
    assert "zz_good.py:3:5: MLF101" in result.stdout, "the run must go on with the other files"
    assert result.returncode == 2
    return [line for line in result.stdout.splitlines() if ": error: " in line]


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            MLFLOW_HEAD + b"def broken(:\n    pass\n",
            "bad.py:3:12: error: SyntaxError: invalid syntax",
        ),
        (MLFLOW_HEAD + b"x = 1\x00\n", "bad.py:3:1: error: file contains NUL bytes"),
        (MLFLOW_HEAD + b"s = '\xff\xfe'\n", "bad.py:3:6: error: cannot decode as utf-8"),
        (
            b"# -*- coding: klingon -*-\n" + MLFLOW_HEAD,
            "bad.py:1:1: error: invalid encoding declaration",
        ),
        (MLFLOW_HEAD + b"x = " + b"(" * 2000 + b"1" + b")" * 2000 + b"\n", "bad.py:3:"),
        (
            MLFLOW_HEAD + b"x = " + b" and ".join([b"a"] * 20000) + b"\n",
            "bad.py:3:1: error: expression too deeply nested",
        ),
        (
            MLFLOW_HEAD + b"x = " + b"+".join([b"1"] * 60000) + b"\n",
            "bad.py:1:1: error: too deeply nested",
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00mlflow log_metric",
            "bad.py:3:1: error: file contains NUL bytes",
        ),
        (
            # a character CPython rejects and libcst's own checks reject too (a found
            # example of the property test: libcst raised its validation error)
            MLFLOW_HEAD + "\U00013460".encode(),
            "bad.py:3:1: error: SyntaxError: invalid non-printable character U+13460",
        ),
    ],
    ids=[
        *("syntax", "nul", "utf8", "cookie", "parens", "bool-chain", "binop-chain", "binary"),
        "non-printable",
    ],
)
def test_one_diagnostic_per_bad_file(tmp_path: Path, content: bytes, expected: str) -> None:
    (tmp_path / "bad.py").write_bytes(content)
    errors = check_with_good_file(tmp_path)
    assert len(errors) == 1
    assert errors[0].startswith(expected), errors[0]


def test_latin1_with_coding_cookie_is_fine(tmp_path: Path) -> None:
    (tmp_path / "l1.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nimport mlflow\nname = '\xe9t\xe9'\nfor s in range(3):\n    mlflow.log_metric(name, s)\n"
    )
    result = run_cli("check", "l1.py", cwd=tmp_path)
    assert result.stdout.startswith("l1.py:5:5: MLF101")


def test_bom_crlf_tabs_and_form_feeds(tmp_path: Path) -> None:
    source = "\ufeffimport mlflow\r\n\x0c\r\nfor s in range(3):\r\n\tmlflow.log_metric('k', s)\r\n"
    (tmp_path / "w.py").write_bytes(source.encode("utf-8"))
    result = run_cli("check", "w.py", cwd=tmp_path)
    assert result.stdout.startswith("w.py:4:2: MLF101"), result.stdout


def test_missing_file_dangling_symlink_and_symlink_loop(tmp_path: Path) -> None:
    os.symlink("nowhere.py", tmp_path / "dangling.py")
    os.symlink("loop.py", tmp_path / "loop.py")
    os.mkdir(tmp_path / "sub")
    os.symlink("..", tmp_path / "sub" / "up")  # a directory loop, never followed
    errors = check_with_good_file(tmp_path)
    assert sorted(e.split(": error: ")[0] for e in errors) == ["dangling.py:1:1", "loop.py:1:1"]
    result = run_cli("check", "missing.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.py:1:1: error: no such file or directory" in result.stdout


def test_directory_named_like_a_python_file(tmp_path: Path) -> None:
    write(tmp_path, "x.py/inner.py", FLAGGED)
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.stdout.startswith("x.py/inner.py:3:5: MLF101")


def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    errors = check_with_good_file(tmp_path)
    assert errors == ["pipe.py:1:1: error: not a regular file"]


# --- permissions: always as an unprivileged process -----------------------------------------------
# As root (CI runs as root) permissions stop nothing, so these tests drop privileges in the
# subprocess: they run as `nobody` when the interpreter is reachable for it, otherwise as root
# without any capability (setpriv --bounding-set -all): either way a real process that the file
# modes stop. Never skipped.
NOBODY = "nobody"


@functools.lru_cache(maxsize=1)
def _drop() -> tuple[list[str], Optional[tuple[int, int]]]:
    """(command prefix, (uid, gid) to switch to) for an unprivileged process."""
    if os.geteuid() != 0:
        return [], None
    user = pwd.getpwnam(NOBODY)
    ids = (user.pw_uid, user.pw_gid)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import mlflow_lint.cli"],
            preexec_fn=_switch(ids),
            capture_output=True,
            cwd="/",
            timeout=120,
        )
        if probe.returncode == 0:
            return [], ids
    except OSError:  # the interpreter lives where `nobody` may not go (~root/.pyenv, say)
        pass
    setpriv = shutil.which("setpriv")
    assert setpriv, "neither `nobody` can run the tests' interpreter nor is setpriv installed"
    return [setpriv, "--bounding-set", "-all"], None


def _switch(ids: tuple[int, int]) -> Callable[[], None]:
    def switch() -> None:
        os.setgroups([])
        os.setgid(ids[1])
        os.setuid(ids[0])

    return switch


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged process can reach (tmp_path is root's own, mode 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="mlflow-lint-perm-", dir="/tmp"))
    directory.chmod(0o755)
    yield directory
    for path in [directory, *directory.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(directory)


def give_away(root: Path) -> None:
    """Hand the files to the user the unprivileged process runs as (when it is `nobody`)."""
    _, ids = _drop()
    if ids is not None:
        for path in [root, *root.rglob("*")]:
            os.chown(path, *ids, follow_symlinks=False)


def run_unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    prefix, ids = _drop()
    env = {k: v for k, v in os.environ.items() if k != "PRE_COMMIT"}
    result = subprocess.run(
        [*prefix, str(MLFLOW_LINT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_switch(ids) if ids else None,
        timeout=600,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def test_the_unprivileged_process_is_stopped_by_permissions(shared_dir: Path) -> None:
    secret = shared_dir / "secret.txt"
    secret.write_text("x")
    give_away(shared_dir)
    secret.chmod(0)
    prefix, ids = _drop()
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", f"open({str(secret)!r}).read()"],
        preexec_fn=_switch(ids) if ids else None,
        capture_output=True,
        timeout=120,
    )
    assert probe.returncode != 0 and b"PermissionError" in probe.stderr


def test_unreadable_file(shared_dir: Path) -> None:
    write(shared_dir, "secret.py", FLAGGED)
    write(shared_dir, "zz_good.py", FLAGGED)
    give_away(shared_dir)
    (shared_dir / "secret.py").chmod(0)
    result = run_unprivileged("check", ".", cwd=shared_dir)
    assert result.returncode == 2
    assert "secret.py:1:1: error: cannot read: Permission denied" in result.stdout.splitlines()
    assert "zz_good.py:3:5: MLF101" in result.stdout, "the run goes on with the other files"


def test_unreadable_directory_on_the_way(shared_dir: Path) -> None:
    """`check dir/file.py` where `dir` may not be searched: one line, exit 2 (it was a
    PermissionError traceback and exit 1)."""
    write(shared_dir, "dir/file.py", FLAGGED)
    write(shared_dir, "dir/sub/x.py", FLAGGED)
    write(shared_dir, "good.py", FLAGGED)
    give_away(shared_dir)
    (shared_dir / "dir").chmod(0)
    for args in (["dir/file.py"], ["dir/file.py", "good.py"], ["dir/sub"]):
        result = run_unprivileged("check", *args, cwd=shared_dir)
        assert result.returncode == 2, result.stdout + result.stderr
        errors = [line for line in result.stdout.splitlines() if ": error: " in line]
        assert errors == [f"{args[0]}:1:1: error: cannot access: Permission denied"]
    assert (
        "good.py:3:5: MLF101" in run_unprivileged("check", "dir", "good.py", cwd=shared_dir).stdout
    )
    listing = run_unprivileged("check", ".", cwd=shared_dir)
    assert "dir:1:1: error: cannot list directory: Permission denied" in listing.stdout


def test_read_only_file_is_reported_as_not_fixed(shared_dir: Path) -> None:
    source = (
        "import mlflow\nfor epoch in range(3):\n"
        "    mlflow.log_metric('a', 1, step=epoch)\n    mlflow.log_metric('b', 2, step=epoch)\n"
    )
    path = write(shared_dir, "metrics.py", source)
    give_away(shared_dir)
    path.chmod(0o444)
    result = run_unprivileged("check", "--fix", "metrics.py", cwd=shared_dir)
    assert result.returncode == 2
    assert path.read_text() == source
    lines = result.stdout.splitlines()
    assert "metrics.py:1:1: error: file is read-only; not fixed" in lines
    assert any(line.startswith("metrics.py:3:5: MLF102 ") for line in lines), lines  # still listed
    assert lines[-1] == (
        "Fixed 0 findings in 0 files. 1 finding remaining. 1 file checked. "
        "1 file could not be fixed (see errors above)."
    )


def test_read_only_directory_is_reported(shared_dir: Path) -> None:
    source = (
        "import mlflow\nfor epoch in range(3):\n"
        "    mlflow.log_metric('a', 1, step=epoch)\n    mlflow.log_metric('b', 2, step=epoch)\n"
    )
    path = write(shared_dir, "src/metrics.py", source)
    give_away(shared_dir)
    (shared_dir / "src").chmod(0o555)
    result = run_unprivileged("fix", "src", cwd=shared_dir)
    assert result.returncode == 2
    assert path.read_text() == source
    assert (
        "src/metrics.py:1:1: error: cannot write src: directory is not writable; not fixed"
        in result.stdout.splitlines()
    ), result.stdout
    assert not [p for p in (shared_dir / "src").iterdir() if p.name != "metrics.py"]
    # the same for --add-noqa, which writes too
    noqa = run_unprivileged("check", "--add-noqa", "src", cwd=shared_dir)
    assert noqa.returncode == 2 and "directory is not writable" in noqa.stdout


def test_huge_file_gets_one_diagnostic(tmp_path: Path) -> None:
    """A 20 MB generated module is reported, not analysed for minutes; the others are."""
    row = b"DATA.append(" + b"1.0, " * 20 + b")\n"
    (tmp_path / "huge.py").write_bytes(
        MLFLOW_HEAD + b"DATA = []\n" + row * (20_000_000 // len(row))
    )
    errors = check_with_good_file(tmp_path)
    assert len(errors) == 1
    assert errors[0].startswith("huge.py:1:1: error: file too large to analyse (20.0 million"), (
        errors
    )


def test_file_deleted_between_discovery_and_read(tmp_path: Path) -> None:
    from mlflow_lint import engine
    from mlflow_lint.config import build_settings
    from mlflow_lint.runner import discover, run

    write(tmp_path, "a.py", FLAGGED)
    write(tmp_path, "b.py", FLAGGED)
    settings = build_settings(None)
    files, _ = discover([str(tmp_path)], settings)
    (tmp_path / "a.py").unlink()
    results = list(run(files, engine.check_file, settings, jobs=1))
    assert [r.error.message if r.error else None for r in results] == [
        "cannot read: No such file or directory",
        None,
    ]
    assert [v.code for v in results[1].violations] == ["MLF101"]
