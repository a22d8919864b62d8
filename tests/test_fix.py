"""`mlflow-lint fix`: what it writes, and that it never writes anything half-right."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import libcst as cst
import pytest
from conftest import MLFLOW_LINT, run_cli

from mlflow_lint import catalogue, engine, rules
from mlflow_lint.config import build_settings
from mlflow_lint.rule import NodeEdit, PendingFix, Rule, Safety
from mlflow_lint.sourcefile import SourceError, atomic_write

# two metrics per epoch, which MLF102 merges (a script's own code runs once per run: fewer
# than ten calls there are not reported)
BEFORE = (
    "import mlflow\nfor epoch in range(3):\n"
    '    mlflow.log_metric("lr", 0.1, step=epoch)\n    mlflow.log_metric("loss", 3, step=epoch)\n'
)
AFTER = 'import mlflow\nfor epoch in range(3):\n    mlflow.log_metrics({"lr": 0.1, "loss": 3}, step=epoch)\n'
# two params, for the test rules below (they trigger on `log_param`)
PARAMS = 'import mlflow\nmlflow.log_param("lr", 0.1)\nmlflow.log_param("epochs", 3)\n'


def test_fix_writes_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(BEFORE)
    result = run_cli("fix", "train.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_text() == AFTER
    assert "Fixed 1 finding in 1 file." in result.stdout
    again = run_cli("fix", "train.py", cwd=tmp_path)
    assert again.returncode == 0 and path.read_text() == AFTER
    assert "Fixed 0 findings in 0 files." in again.stdout


def test_diff_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(BEFORE)
    result = run_cli("fix", "--diff", "train.py", cwd=tmp_path)
    assert result.returncode == 1
    assert path.read_text() == BEFORE
    assert "--- a/train.py\n+++ b/train.py\n" in result.stdout
    assert '+    mlflow.log_metrics({"lr": 0.1, "loss": 3}, step=epoch)\n' in result.stdout
    assert '-    mlflow.log_metric("lr", 0.1, step=epoch)\n' in result.stdout


def test_check_marks_fixable_and_counts_hidden_unsafe_fixes(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(
        BEFORE + 'def on_batch_end():\n    mlflow.set_tag("a", f())\n    mlflow.set_tag("b", g())\n'
    )
    result = run_cli("check", "train.py", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("train.py:3:5: MLF102 ") and lines[0].endswith(" [*]")
    assert lines[1].startswith("train.py:6:5: MLF104 ") and not lines[1].endswith("[*]")
    assert "(1 fixable with `mlflow-lint fix`)" in result.stdout
    assert "1 more fix available with `--unsafe-fixes`." in result.stdout
    unsafe = run_cli("check", "--unsafe-fixes", "train.py", cwd=tmp_path)
    assert unsafe.stdout.splitlines()[1].endswith(" [*]")


def test_unsafe_fixes_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "t.py"
    head = "import mlflow\ndef on_batch_end():\n"
    source = head + '    mlflow.set_tag("a", f())\n    mlflow.set_tag("b", g())\n'
    path.write_text(source)
    run_cli("fix", "t.py", cwd=tmp_path)
    assert path.read_text() == source
    run_cli("fix", "--unsafe-fixes", "t.py", cwd=tmp_path)
    assert path.read_text() == head + '    mlflow.set_tags({"a": f(), "b": g()})\n'


def test_encoding_line_endings_bom_and_mode_are_kept(tmp_path: Path) -> None:
    latin = tmp_path / "latin.py"
    latin.write_bytes(
        b"# -*- coding: latin-1 -*-\r\nimport mlflow\r\nfor epoch in range(3):\r\n"
        b"    mlflow.log_metric('caf\xe9', 1, step=epoch)\r\n"
        b"    mlflow.log_metric('b', 2, step=epoch)\r\n"
    )
    latin.chmod(0o754)
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + BEFORE.encode())
    result = run_cli("fix", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert latin.read_bytes() == (
        b"# -*- coding: latin-1 -*-\r\nimport mlflow\r\nfor epoch in range(3):\r\n"
        b"    mlflow.log_metrics({'caf\xe9': 1, 'b': 2}, step=epoch)\r\n"
    )
    assert stat.S_IMODE(latin.stat().st_mode) == 0o754
    assert bom.read_bytes() == b"\xef\xbb\xbf" + AFTER.encode()


def test_multiline_fix_uses_the_files_line_ending(tmp_path: Path) -> None:
    path = tmp_path / "crlf.py"
    keys = [f"metric_number_{i}" for i in range(6)]
    body = "".join(f'    mlflow.log_metric("{k}", {i}, step=s)\r\n' for i, k in enumerate(keys))
    path.write_bytes(f"import mlflow\r\ndef f(s):\r\n{body}".encode())
    run_cli("fix", "crlf.py", cwd=tmp_path)
    data = path.read_bytes()
    assert b"mlflow.log_metrics(" in data and b"\n" not in data.replace(b"\r\n", b"")
    cst.parse_module(data)


def test_symlink_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_text(BEFORE)
    link = tmp_path / "link.py"
    link.symlink_to("real.py")
    run_cli("fix", "link.py", cwd=tmp_path)
    assert link.is_symlink()
    assert real.read_text() == AFTER


def test_read_only_file_is_left_alone(tmp_path: Path) -> None:
    """A file without write permission is never rewritten, even by root (whom the mode does
    not stop): the mode says someone wants it left as it is."""
    path = tmp_path / "ro.py"
    path.write_text(BEFORE)
    path.chmod(0o444)
    result = run_cli("fix", "ro.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "ro.py:1:1: error: file is read-only; not fixed" in result.stdout
    assert path.read_text() == BEFORE
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_diff_shows_the_fixes_only(tmp_path: Path) -> None:
    """`fix --diff` (`check --diff`) writes nothing and, as Ruff's `--diff`, implies
    `--fix-only`: the diff and a summary, no findings; `check` reports them where they are on
    disk, `fix` where they are in the fixed file."""
    path = tmp_path / "train.py"
    path.write_text(
        "import mlflow\nwith mlflow.start_run():\n    for epoch in range(3):\n"
        '        mlflow.log_metric("a", 1, step=epoch)\n'
        '        mlflow.log_metric("b", 2, step=epoch)\n'
        '    for i in range(3):\n        mlflow.log_metric("x", i, step=i)\n'
    )
    result = run_cli("fix", "--diff", "--select", "MLF101,MLF102", "train.py", cwd=tmp_path)
    assert '+        mlflow.log_metrics({"a": 1, "b": 2}, step=epoch)' in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("train.py:")]
    # what really remains is counted: the MLF101 finding, not the merged metrics
    assert "\nWould fix 1 finding in 1 file. 1 finding would remain. 1 file checked." in (
        result.stdout
    )
    checked = run_cli("check", "--select", "MLF101,MLF102", "train.py", cwd=tmp_path)
    assert "train.py:7:9: MLF101" in checked.stdout  # on disk: where it is now
    written = run_cli("fix", "--select", "MLF101,MLF102", "train.py", cwd=tmp_path)
    assert "train.py:6:9: MLF101" in written.stdout  # written: where it is now


def test_file_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "t.py"
    path.write_text("edited by someone else\n")
    with pytest.raises(SourceError, match="changed on disk"):
        atomic_write(str(path), AFTER.encode(), expected_on_disk=BEFORE.encode())
    assert path.read_text() == "edited by someone else\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.py"], "no temporary file left behind"


def test_fix_from_stdin(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(MLFLOW_LINT), "fix", "-", "--stdin-filename", "x.py"],
        input=BEFORE.encode(),
        capture_output=True,
        cwd=tmp_path,
    )
    assert result.stdout.decode() == AFTER
    assert result.returncode == 0


class _BrokenFix(Rule):
    code = "MLF990"
    name = "broken-fix"
    summary = "test rule whose fix breaks the code"
    triggers = frozenset({"log_param"})
    fix_safety = Safety.SAFE
    replacement: ClassVar[str] = "mlflow.log_param(("

    def leave_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, cst.Call) and self.ctx.api_call(node.value):
            self.report(
                node,
                "broken",
                PendingFix("break it", Safety.SAFE, [NodeEdit(node, node, self.replacement)]),
            )


class _FlipFlop(_BrokenFix):
    code = "MLF991"
    name = "flip-flop"
    replacement = "(mlflow.log_param('x', 1))"  # fires again on its own output, forever


@pytest.mark.parametrize(
    "rule, message",
    [(_BrokenFix, "a fix produced code that does not parse"), (_FlipFlop, "did not converge")],
)
def test_bad_fix_is_never_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rule: type[Rule], message: str
) -> None:
    monkeypatch.setitem(rules.RULES_BY_CODE, rule.code, rule)
    monkeypatch.setattr(rules, "ALL_RULES", (*rules.ALL_RULES, rule))
    entry = catalogue.info(rule)  # what configuration and the prefilter read
    monkeypatch.setitem(catalogue.RULES_BY_CODE, rule.code, entry)
    monkeypatch.setattr("mlflow_lint.config.ALL_RULES", (*catalogue.ALL_RULES, entry))
    path = tmp_path / "t.py"
    path.write_text(PARAMS)
    settings = build_settings(None, select=[rule.code])
    result = engine.fix_file(str(path), settings)
    assert result.error is not None and message in result.error.message
    assert path.read_text() == PARAMS


def test_two_concurrent_fix_processes_leave_files_whole(tmp_path: Path) -> None:
    for i in range(150):
        (tmp_path / f"m{i:03d}.py").write_text(BEFORE + f"# file {i}\n" + "x = 1\n" * (i % 50))
    command = [str(MLFLOW_LINT), "fix", "--jobs", "2", "."]
    first = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    second = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    assert first.wait(timeout=300) in (0, 2) and second.wait(timeout=300) in (0, 2)
    for i in range(150):
        text = (tmp_path / f"m{i:03d}.py").read_text()
        tail = f"# file {i}\n" + "x = 1\n" * (i % 50)
        assert text in (BEFORE + tail, AFTER + tail), f"m{i:03d}.py is mixed or truncated"
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]
    # and a final run converges
    assert run_cli("fix", ".", cwd=tmp_path).returncode == 0
    assert all((tmp_path / f"m{i:03d}.py").read_text().startswith(AFTER) for i in range(150))


def test_python_dash_m_works(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text(BEFORE)
    result = subprocess.run(
        [sys.executable, "-m", "mlflow_lint", "check", "t.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "MLF102" in result.stdout
