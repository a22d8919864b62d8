"""Bad input gets one clear diagnostic with its location; the run goes on with other files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_cli
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
    ],
    ids=["syntax", "nul", "utf8", "cookie", "parens", "bool-chain", "binop-chain", "binary"],
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


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.py"
    path.write_text(FLAGGED)
    path.chmod(0)
    if os.access(path, os.R_OK):
        pytest.skip("running as root: permissions do not stop reads")
    errors = check_with_good_file(tmp_path)
    assert errors == ["secret.py:1:1: error: cannot read: Permission denied"]


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
