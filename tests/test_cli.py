"""The installed `mlflow-lint` command, run as a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import MLFLOW_LINT, RULES_DIR, run_cli

from mlflow_lint import __version__

FLAGGED = "import mlflow\nfor step in range(3):\n    mlflow.log_metric('loss', 0.1, step=step)\n"
CLEAN = "import mlflow\nmlflow.log_metric('loss', 0.1)\n"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_exit_codes(tmp_path: Path) -> None:
    write(tmp_path, "clean.py", CLEAN)
    assert run_cli("check", "clean.py", cwd=tmp_path).returncode == 0
    write(tmp_path, "flagged.py", FLAGGED)
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("flagged.py:3:5: MLF101 ")
    assert "Found 1 finding in 1 file. 2 files checked." in result.stdout
    assert run_cli("check", "--exit-zero", ".", cwd=tmp_path).returncode == 0
    assert run_cli("check", "--select", "MLF999", ".", cwd=tmp_path).returncode == 2
    assert run_cli("check", "--bogus", cwd=tmp_path).returncode == 2


def test_output_format_and_summary(tmp_path: Path) -> None:
    write(tmp_path, "a.py", FLAGGED)
    out = run_cli("check", "a.py", cwd=tmp_path).stdout
    line = out.splitlines()[0]
    assert re.fullmatch(r"a\.py:3:5: MLF101 `mlflow\.log_metric` in a loop.*", line)
    quiet = run_cli("check", "-q", "a.py", cwd=tmp_path).stdout
    assert quiet.splitlines() == [line]


def test_default_path_is_current_directory(tmp_path: Path) -> None:
    write(tmp_path, "pkg/mod.py", FLAGGED)
    result = run_cli("check", cwd=tmp_path)
    assert result.stdout.startswith("pkg/mod.py:3:5: MLF101")


def test_select_and_ignore(tmp_path: Path) -> None:
    write(tmp_path, "a.py", FLAGGED)
    assert run_cli("check", "--ignore", "MLF101", "a.py", cwd=tmp_path).returncode == 0
    assert run_cli("check", "--ignore", "MLF1", "a.py", cwd=tmp_path).returncode == 0
    assert run_cli("check", "--select", "MLF101", "a.py", cwd=tmp_path).returncode == 1
    # longest prefix wins, as in flake8
    assert (
        run_cli("check", "--select", "MLF101", "--ignore", "MLF1", "a.py", cwd=tmp_path).returncode
        == 1
    )


def test_statistics(tmp_path: Path) -> None:
    write(tmp_path, "a.py", FLAGGED + FLAGGED)
    out = run_cli("check", "--statistics", "a.py", cwd=tmp_path).stdout
    assert re.search(r"^\s+2\s+MLF101\s+.*metric-in-loop$", out, re.M)


def test_stdin(tmp_path: Path) -> None:
    result = run_cli(
        "check", "-", "--stdin-filename", "train.py", input=FLAGGED.encode(), cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stdout.startswith("train.py:3:5: MLF101")
    result = run_cli("check", "-", input=CLEAN.encode(), cwd=tmp_path)
    assert result.returncode == 0


def test_version_rules_and_rule() -> None:
    assert run_cli("--version").stdout.strip().endswith(__version__)
    listing = run_cli("rules").stdout
    assert re.search(r"^MLF101\s+metric-in-loop\s+", listing, re.M)
    explanation = run_cli("rule", "MLF101")
    assert explanation.returncode == 0
    assert explanation.stdout.startswith("# MLF101: metric-in-loop")
    assert "## Why is this bad" in explanation.stdout
    # examples ship with the installed package
    assert (RULES_DIR / "MLF101" / "flagged.py").read_text().strip() in explanation.stdout
    assert run_cli("rule", "metric-in-loop").stdout == explanation.stdout
    assert run_cli("rule", "MLF000").returncode == 2


def test_discovery_skips_vcs_venvs_and_build_dirs(tmp_path: Path) -> None:
    for skipped in [
        ".git/hooks/x.py",
        "build/lib/x.py",
        "dist/x.py",
        "__pycache__/x.py",
        "node_modules/x.py",
    ]:
        write(tmp_path, skipped, FLAGGED)
    write(tmp_path, "myenv/pyvenv.cfg", "home = /usr\n")
    write(tmp_path, "myenv/lib/x.py", FLAGGED)
    write(tmp_path, "src/train.py", FLAGGED)
    write(tmp_path, "notes.txt", FLAGGED)
    result = run_cli("check", ".", cwd=tmp_path)
    paths = {line.split(":")[0] for line in result.stdout.splitlines() if ": MLF" in line}
    assert paths == {"src/train.py"}
    # an explicitly named file is checked even in an excluded directory
    assert run_cli("check", "build/lib/x.py", cwd=tmp_path).returncode == 1


def test_parallel_output_is_stable(tmp_path: Path) -> None:
    for i in range(60):
        write(tmp_path, f"pkg{i % 7}/mod{i}.py", FLAGGED + ("\n" * (i % 3)) + FLAGGED)
        write(tmp_path, f"pkg{i % 5}/clean{i}.py", "x = 1\n")
    serial = run_cli("check", "--jobs", "1", ".", cwd=tmp_path)
    parallel = run_cli("check", "--jobs", "2", ".", cwd=tmp_path)
    assert serial.returncode == parallel.returncode == 1
    assert serial.stdout == parallel.stdout
    lines = [line for line in serial.stdout.splitlines() if ": MLF" in line]
    assert len(lines) == 120
    keys = [
        (line.split(":")[0], int(line.split(":")[1]), int(line.split(":")[2])) for line in lines
    ]
    assert keys == sorted(keys)


def test_files_without_mlflow_are_never_parsed(tmp_path: Path) -> None:
    body = "def f(x):\n    return [log_metric(i) for i in range(x)]\n" * 50
    for i in range(1000):
        write(tmp_path, f"pkg/m{i:04d}.py", body)
    write(tmp_path, "pkg/uses_mlflow_but_no_trigger.py", "import mlflow\nmlflow.autolog()\n")
    result = run_cli("check", "--statistics", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1001 files checked, 0 parsed" in result.stdout


def test_cache_serves_unchanged_files_and_never_stale_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "train.py", FLAGGED)
    first = run_cli("check", "train.py", cwd=tmp_path)
    assert (tmp_path / ".mlflow-lint-cache" / ".gitignore").read_text().endswith("*\n")
    entries = [
        p
        for p in (tmp_path / ".mlflow-lint-cache").rglob("*")
        if p.is_file() and p.name != ".gitignore" and not p.name.startswith("index-")
    ]
    assert len(entries) == 1
    assert run_cli("check", "train.py", cwd=tmp_path).stdout == first.stdout  # served warm
    path.write_text(FLAGGED.replace("0.1", "0.2") + CLEAN)  # a changed file is analysed again
    assert run_cli("check", "train.py", cwd=tmp_path).stdout == first.stdout
    path.write_text(CLEAN)
    assert run_cli("check", "train.py", cwd=tmp_path).returncode == 0
    path.write_text(FLAGGED)
    write(tmp_path, "pyproject.toml", '[tool.mlflow-lint]\nignore = ["MLF101"]\n')  # new config
    ignored = run_cli("check", "train.py", cwd=tmp_path)
    assert "MLF101" not in ignored.stdout
    assert (
        run_cli("check", "--no-cache", "--select", "MLF101", "train.py", cwd=tmp_path).stdout
        == first.stdout
    )


def index_entries(root: Path) -> dict[str, list[object]]:
    (index,) = (root / ".mlflow-lint-cache").glob("index-*.json")
    entries: dict[str, list[object]] = json.loads(index.read_text())["entries"]
    return entries


def test_stat_index_serves_unchanged_files_without_reading_them(tmp_path: Path) -> None:
    """A warm run stats files instead of reading them; a file whose contents changed is read
    again even when its size and mtime were put back (its ctime moved), and a file written
    just before a run is not indexed (it could change again within the same clock tick)."""
    old = time.time() - 60
    flagged = write(tmp_path, "train.py", FLAGGED)
    other = write(tmp_path, "other.py", "print('no tracking here')\n")
    for path in (flagged, other):
        os.utime(path, (old, old))
    first = run_cli("check", ".", cwd=tmp_path)
    assert first.returncode == 1 and "train.py:3:5: MLF101" in first.stdout
    entries = index_entries(tmp_path)
    assert entries[str(other)][5] is None  # skipped by the prefilter, and remembered so
    from mlflow_lint.cache import _result_from_json  # the stored layout is the cache's business

    assert _result_from_json(entries[str(flagged)][5], "t.py").violations[0].code == "MLF101"
    # the same size and mtime, other contents: the ctime tells
    flagged.write_text(FLAGGED.replace("log_metric", "log_metrix"))
    assert flagged.stat().st_size == len(FLAGGED)
    os.utime(flagged, (old, old))
    second = run_cli("check", ".", cwd=tmp_path)
    assert second.returncode == 0, second.stdout
    # written just now: not indexed, so the next edit is seen whatever the clock says
    write(tmp_path, "new.py", FLAGGED)
    assert run_cli("check", ".", cwd=tmp_path).returncode == 1
    assert str(tmp_path / "new.py") not in index_entries(tmp_path)


def test_cache_key_covers_the_tool_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow_lint import cache
    from mlflow_lint.config import build_settings
    from mlflow_lint.engine import FileResult

    settings = build_settings(None)
    data = FLAGGED.encode()
    store = cache.Cache(str(tmp_path), settings)
    store.put(data, FileResult("t.py", [], parsed=True))
    assert store.get(data, "t.py") is not None
    monkeypatch.setattr(cache, "__version__", "999.0")
    assert cache.Cache(str(tmp_path), settings).get(data, "t.py") is None


def test_cache_key_covers_the_linters_own_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edited rule (an editable install) never serves results its old code computed."""
    from mlflow_lint import cache
    from mlflow_lint.config import build_settings

    settings = build_settings(None)
    before = cache.settings_fingerprint(settings)
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "edited")
    assert cache.settings_fingerprint(settings) != before


def test_force_exclude_applies_to_named_files(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.mlflow-lint]\nextend-exclude = ["generated"]\n')
    write(tmp_path, "generated/train.py", FLAGGED)
    assert run_cli("check", "generated/train.py", cwd=tmp_path).returncode == 1
    assert run_cli("check", "--force-exclude", "generated/train.py", cwd=tmp_path).returncode == 0


def test_statistics_estimate_requests_per_iteration(tmp_path: Path) -> None:
    write(
        tmp_path,
        "train.py",
        "import mlflow\n"
        "with mlflow.start_run():\n"
        "    for epoch in range(3):\n"
        "        for batch in range(4):\n"
        "            mlflow.log_metric('loss', 0.1, step=batch)\n"
        "        mlflow.log_metric('a', 1, step=epoch)\n"
        "        mlflow.log_metric('b', 2, step=epoch)\n",
    )
    out = run_cli("check", "--statistics", "train.py", cwd=tmp_path).stdout
    assert "Tracking requests per loop iteration (an estimate from the code):" in out
    # now: 1 per batch of every epoch, 2 per epoch; after the fixes: the batch loop is buffered
    # (flushed once per epoch); the two epoch metrics stay (fewer than five calls at the
    # epoch level are not reported: option min-calls-epoch)
    assert (
        "  train.py:3: now 1 request per `batch` iteration and 2 per `epoch` iteration; "
        "after the fixes, 3 requests per `epoch` iteration.\n"
    ) in out
    assert "In all, 3 tracking calls in the bodies of 1 loop nest, each made on every" in out
    assert "; 3 after the available fixes (`mlflow-lint check --fix --unsafe-fixes`).\n" in out
    # with every pair reported, the two epoch metrics merge into one log_metrics
    (tmp_path / "pyproject.toml").write_text("[tool.mlflow-lint.MLF102]\nmin-calls-epoch = 2\n")
    out = run_cli("check", "--statistics", "train.py", cwd=tmp_path).stdout
    assert "after the fixes, 2 requests per `epoch` iteration.\n" in out


# --- Ruff's options -------------------------------------------------------------------------------
# two metrics per epoch: a group MLF102 reports (a script's own code runs once per run, where
# fewer than ten calls are not reported)
TWO_METRICS = (
    "import mlflow\nfor epoch in range(3):\n"
    "    mlflow.log_metric('a', 1, step=epoch)\n    mlflow.log_metric('b', 2, step=epoch)\n"
)
FIXED_METRICS = (
    "import mlflow\nfor epoch in range(3):\n    mlflow.log_metrics({'a': 1, 'b': 2}, step=epoch)\n"
)
# one safe fix (MLF102) and one finding with an unsafe fix (MLF101)
MIXED = TWO_METRICS + (
    "with mlflow.start_run():\n"
    "    for step in range(3):\n"
    "        mlflow.log_metric('loss', 0.1, step=step)\n"
)


def test_check_fix_is_fix(tmp_path: Path) -> None:
    """`check --fix` applies the safe fixes and reports what remains; `fix` is its short form."""
    for command in (["check", "--fix"], ["fix"]):
        path = write(tmp_path, "train.py", MIXED)
        result = run_cli(*command, "train.py", cwd=tmp_path)
        assert result.returncode == 1, result.stdout  # MLF101 remains
        assert path.read_text().startswith(FIXED_METRICS)
        lines = result.stdout.splitlines()
        assert lines[0].startswith("train.py:6:9: MLF101 ")  # where it is in the fixed file
        assert lines[-1] == (
            "Fixed 1 finding in 1 file. 1 finding remaining. 1 file checked. "
            "1 more fix available with `--unsafe-fixes`."
        )
    path = write(tmp_path, "train.py", MIXED)
    result = run_cli("check", "--fix", "--unsafe-fixes", "train.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout == "Fixed 2 findings in 1 file. 1 file checked.\n"
    assert "mlflow.log_metric(" not in path.read_text()


def test_fix_only_diff_show_fixes_and_exit_non_zero_on_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "train.py", MIXED)
    diff = run_cli("check", "--diff", "train.py", cwd=tmp_path)
    assert diff.returncode == 1  # something would change
    assert path.read_text() == MIXED  # nothing written
    assert diff.stdout.startswith("--- a/train.py\n+++ b/train.py\n")
    assert "+    mlflow.log_metrics({'a': 1, 'b': 2}, step=epoch)\n" in diff.stdout
    assert "MLF101" not in diff.stdout  # --diff implies --fix-only: no findings listed
    assert diff.stdout.endswith(
        "Would fix 1 finding in 1 file. 1 finding would remain. 1 file checked. "
        "1 more fix available with `--unsafe-fixes`.\n"
    )
    only = run_cli("check", "--fix-only", "--show-fixes", "train.py", cwd=tmp_path)
    assert only.returncode == 0, only.stdout  # the remaining MLF101 does not count
    assert only.stdout == (
        "Fixed 1 finding:\n- train.py:\n    1 \u00d7 MLF102 (consecutive-log-metric)\n\n"
        "Fixed 1 finding in 1 file. 1 file checked. 1 more fix available with `--unsafe-fixes`.\n"
    )
    assert run_cli("check", "--diff", "train.py", cwd=tmp_path).returncode == 0  # nothing left
    write(tmp_path, "train.py", TWO_METRICS)
    assert (
        run_cli("check", "--fix", "--exit-non-zero-on-fix", "train.py", cwd=tmp_path).returncode
        == 1
    )
    assert (
        run_cli("check", "--fix", "--exit-non-zero-on-fix", "train.py", cwd=tmp_path).returncode
        == 0
    )
    write(tmp_path, "train.py", TWO_METRICS)
    fixable = run_cli("check", "--show-fixes", "train.py", cwd=tmp_path)
    assert (
        "Fixable with `mlflow-lint fix`: 1 finding:\n    1 \u00d7 MLF102 (consecutive-log-metric)\n"
        in fixable.stdout
    )


def test_stdin_fix_and_diff(tmp_path: Path) -> None:
    fixed = run_cli("check", "--fix", "-", "--stdin-filename", "t.py", input=MIXED.encode())
    assert fixed.stdout.startswith(FIXED_METRICS)  # the fixed code on standard output
    assert fixed.stderr.startswith("t.py:6:9: MLF101 ")  # the report on standard error
    diff = run_cli("check", "--diff", "-", input=TWO_METRICS.encode())
    assert diff.returncode == 1 and diff.stdout.startswith("--- a/-\n")


def test_add_noqa(tmp_path: Path) -> None:
    """A directive on each line with findings, merged into an existing one, after any other
    comment, at the end of a multi-line string; a second run adds nothing. (Each call logs at
    a step of its own: calls at one step would be one finding, at the first.)"""
    source = (
        "import mlflow\n"
        "for step in range(3):\n"
        "    mlflow.log_metric('loss', 0.1, step=step)  # the loss\n"
        "    mlflow.log_metric('acc', 0.1, step=step + 1)  # noqa: E501 long line\n"
        "    mlflow.log_metric('''a\n''', 0.1, step=step + 2)\n"
    )
    path = write(tmp_path, "train.py", source)
    result = run_cli("check", "--add-noqa", "--select", "MLF101", "train.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "Added 3 noqa directives in 1 file.\n"
    assert path.read_text() == (
        "import mlflow\n"
        "for step in range(3):\n"
        "    mlflow.log_metric('loss', 0.1, step=step)  # the loss  # noqa: MLF101\n"
        "    mlflow.log_metric('acc', 0.1, step=step + 1)  # noqa: E501, MLF101 long line\n"
        "    mlflow.log_metric('''a\n''', 0.1, step=step + 2)  # noqa: MLF101\n"
    )
    assert run_cli("check", "--select", "MLF101", "train.py", cwd=tmp_path).returncode == 0
    again = run_cli("check", "--add-noqa", "--select", "MLF101", "train.py", cwd=tmp_path)
    assert again.stdout == "Added 0 noqa directives in 0 files.\n"
    # flake8 reads the same directives
    flake8 = Path(MLFLOW_LINT).parent / "flake8"
    out = subprocess.run(
        [str(flake8), "--select", "MLF101", "train.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout


def test_add_noqa_in_a_notebook(tmp_path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Training"),
        nbformat.v4.new_code_cell("import mlflow"),
        nbformat.v4.new_code_cell(FLAGGED.removeprefix("import mlflow\n")),
    ]
    path = tmp_path / "train.ipynb"
    nbformat.write(notebook, str(path))
    result = run_cli("check", "--add-noqa", "train.ipynb", cwd=tmp_path)
    assert result.stdout == "Added 1 noqa directive in 1 file.\n", result.stdout
    cell = nbformat.read(str(path), as_version=4).cells[2].source
    assert "step=step)  # noqa: MLF101\n" in cell
    assert run_cli("check", "train.ipynb", cwd=tmp_path).returncode == 0


def test_exclude_on_the_command_line(tmp_path: Path) -> None:
    write(tmp_path, "src/train.py", FLAGGED)
    write(tmp_path, "scratch/try.py", FLAGGED)
    write(tmp_path, "build/x.py", FLAGGED)

    def paths(*args: str) -> set[str]:
        out = run_cli("check", *args, ".", cwd=tmp_path).stdout
        return {line.split(":")[0] for line in out.splitlines() if ": MLF" in line}

    assert paths() == {"src/train.py", "scratch/try.py"}
    assert paths("--extend-exclude", "scratch") == {"src/train.py"}
    # --exclude replaces the default list (build/ is no longer excluded)
    assert paths("--exclude", "scratch,src") == {"build/x.py"}
    named = run_cli(
        "check", "--extend-exclude", "scratch", "--force-exclude", "scratch/try.py", cwd=tmp_path
    )
    assert "MLF101" not in named.stdout


def test_no_python_files_found(tmp_path: Path) -> None:
    """Ruff's warning, never "All checks passed!", when nothing was checked."""
    (tmp_path / "empty").mkdir()
    write(tmp_path, "docs/notes.txt", "mlflow.log_metric")
    write(tmp_path, "only/scratch.py", FLAGGED)
    for args in (["empty"], ["docs"], ["--extend-exclude", "scratch.py", "only"]):
        result = run_cli("check", *args, cwd=tmp_path)
        assert result.returncode == 0
        assert result.stdout == ""
        assert result.stderr == "warning: No Python files found under the given path(s)\n"
    many = run_cli("check", "only", "docs", cwd=tmp_path)
    assert many.stdout.endswith("Found 1 finding in 1 file. 1 file checked.\n")


def test_verbose_quiet_and_silent(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.mlflow-lint]\nignore = ["MLF9"]\n')
    write(tmp_path, "train.py", FLAGGED)
    write(tmp_path, "plain.py", "print('hello')\n")
    write(tmp_path, "other.py", "import mlflow\nmlflow.autolog()\n")
    verbose = run_cli("check", "-v", ".", cwd=tmp_path)
    assert verbose.stdout.startswith("train.py:3:5: MLF101")
    err = verbose.stderr
    assert f"configuration: {tmp_path / 'pyproject.toml'}\n" in err
    assert "files: 3 found, 1 parsed, 2 skipped unparsed by the prefilter\n" in err
    assert '  1 without "mlflow" in them\n' in err
    assert '  1 with "mlflow" but no call an enabled rule looks for\n' in err
    assert re.search(r"^time: \d+\.\d\d s \(", err, re.M)
    quiet = run_cli("check", "-q", ".", cwd=tmp_path)
    assert quiet.stdout.splitlines() == [verbose.stdout.splitlines()[0]] and quiet.stderr == ""
    silent = run_cli("check", "-s", ".", cwd=tmp_path)
    assert (silent.returncode, silent.stdout, silent.stderr) == (1, "", "")


def test_configuration_errors_name_the_file_and_key(tmp_path: Path) -> None:
    """One line on standard error, exit 2, no click "Usage: ... Try --help" banner."""
    write(tmp_path, "train.py", FLAGGED)
    config = tmp_path / "pyproject.toml"
    cases = {
        '[tool.mlflow-lint]\nselcet = ["MLF1"]\n': "unknown key(s) in [tool.mlflow-lint]: selcet",
        '[tool.mlflow-lint]\nignore = ["MLF999"]\n': "select/ignore: unknown rule code or prefix 'MLF999'",
        '[tool.mlflow-lint]\nextend-select = ["XYZ1"]\n': "extend-select: unknown rule code or prefix 'XYZ1'",
        '[tool.mlflow-lint.per-file-ignores]\n"t*" = ["MLF99"]\n': "per-file-ignores.'t*': unknown rule code",
        "[tool.mlflow-lint.MLF102]\nmin-calls = 0\n": "MLF102.min-calls must be at least 2, not 0",
        '[tool.mlflow-lint]\noutput-format = "fancy"\n': "output-format must be one of full,",
        "[tool.mlflow-lint]\nforce-exclude = 1\n": "force-exclude must be true or false",
    }
    for table, expected in cases.items():
        config.write_text(table)
        result = run_cli("check", "train.py", cwd=tmp_path)
        assert result.returncode == 2, table
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith(f"mlflow-lint: error: {config}: "), line
        assert expected in line, line
        assert "Usage:" not in result.stderr
    config.write_text("[tool.mlflow-lint.MLF102]\nmin-calls = 3\n")
    assert run_cli("check", "train.py", cwd=tmp_path).returncode == 1


def test_extend_select_in_the_configuration(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.mlflow-lint]\nextend-select = ["MLF901"]\n')
    write(
        tmp_path,
        "train.py",
        "import mlflow\nfor e in range(3):\n    for b in range(3):\n"
        "        mlflow.log_metrics({'a': 1}, step=b)\n",
    )
    out = run_cli("check", "train.py", cwd=tmp_path).stdout
    assert "MLF901" in out  # opt-in, selected on top of the defaults


def test_options_that_cannot_go_together_say_why(tmp_path: Path) -> None:
    write(tmp_path, "train.py", FLAGGED)
    cases = [
        (["--statistics", "--diff"], "--statistics counts the findings reported, and --diff"),
        (["--add-noqa", "--fix"], "--add-noqa edits the files itself: --fix cannot go with it"),
        (["--quiet", "--verbose"], "--quiet and --verbose contradict each other"),
        (["--format", "json", "--output-format", "json"], "--format is the old name of"),
    ]
    for args, reason in cases:
        result = run_cli("check", *args, "train.py", cwd=tmp_path)
        assert result.returncode == 2
        assert reason in result.stderr, result.stderr
    # `fix` takes the options of `check` (it is its short form)
    for args in (["--statistics"], ["--exit-zero"], ["--no-cache"], ["--output-format", "json"]):
        result = run_cli("fix", *args, "train.py", cwd=tmp_path)
        expected = 0 if args == ["--exit-zero"] else 1  # MLF101 remains
        assert result.returncode == expected and result.stderr == "", args


def test_help_reads_like_ruffs() -> None:
    main = run_cli("--help").stdout
    assert main.startswith("Usage: mlflow-lint [OPTIONS] COMMAND [ARGS]...\n")
    for command in ("check", "fix", "rules", "rule", "server"):
        assert re.search(rf"^  {command}\s+\S", main, re.M), command
    check = run_cli("check", "--help").stdout
    assert check.startswith("Usage: mlflow-lint check [OPTIONS] [PATHS]...\n")
    sections = [line for line in check.splitlines() if line and not line.startswith(" ")]
    assert sections[1:] == [
        "Positional arguments:",
        "Options:",
        "Rule selection:",
        "File selection:",
        "Miscellaneous:",
        "Log levels:",
        "Other options:",
    ], sections
    for option in (
        "--fix",
        "--unsafe-fixes",
        "--show-fixes",
        "--diff",
        "--watch",
        "--fix-only",
        "--add-noqa",
        "--output-format",
        "--statistics",
        "--select",
        "--exclude",
        "--exit-zero",
        "--exit-non-zero-on-fix",
        "--no-cache",
        "--verbose",
        "--quiet",
        "--color",
    ):
        assert re.search(rf"^  (-\w, )?{option}\b", check, re.M), option
    assert "--format" not in check.replace("--output-format", "")  # the old name: hidden
    # one column for every section's help, as Ruff's
    starts = {
        len(line) - len(line.lstrip(" ").split("  ", 1)[1].lstrip(" "))
        for line in check.splitlines()
        if line.startswith("  ") and "  " in line.lstrip(" ") and not line.startswith("   ")
    }
    assert len(starts) == 1, starts
    fix_help = run_cli("fix", "--help").stdout
    assert fix_help.split("Positional arguments:")[1] == check.split("Positional arguments:")[1]


def test_colour(tmp_path: Path) -> None:
    write(tmp_path, "train.py", FLAGGED)
    plain = run_cli("check", "train.py", cwd=tmp_path).stdout
    assert "\x1b[" not in plain  # a pipe: no colour
    coloured = run_cli("check", "--color", "always", "train.py", cwd=tmp_path).stdout
    assert "\x1b[" in coloured and re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
    assert run_cli("check", "train.py", cwd=tmp_path, env={"FORCE_COLOR": "1"}).stdout == coloured
    forced_off = run_cli(
        "check", "train.py", cwd=tmp_path, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}
    )
    assert forced_off.stdout == plain
    report = tmp_path / "report.txt"
    run_cli("check", "--color", "always", "-o", str(report), "train.py", cwd=tmp_path)
    assert "\x1b[" not in report.read_text()  # never in files


def test_full_format(tmp_path: Path) -> None:
    write(tmp_path, "train.py", MIXED)
    out = run_cli("check", "--output-format", "full", "train.py", cwd=tmp_path).stdout
    assert out.startswith("MLF102 [*] 2 consecutive `mlflow.log_metric` calls send 2 requests"), out
    assert (
        " --> train.py:3:5\n"
        "  |\n"
        "1 |   import mlflow\n"
        "2 |   for epoch in range(3):\n"
        "3 | /     mlflow.log_metric('a', 1, step=epoch)\n"
        "4 | |     mlflow.log_metric('b', 2, step=epoch)\n"
        "  | |_________________________________________^\n"
    ) in out
    assert (
        "  |\n"
        "2 | for epoch in range(3):\n"
        "  -     mlflow.log_metric('a', 1, step=epoch)\n"
        "  -     mlflow.log_metric('b', 2, step=epoch)\n"
        "3 +     mlflow.log_metrics({'a': 1, 'b': 2}, step=epoch)\n"
        "4 | with mlflow.start_run():\n"
        "  |\n"
    ) in out
    assert ("MLF101 `mlflow.log_metric` in a loop") in out
    assert (
        "6 |     for step in range(3):\n"
        "7 |         mlflow.log_metric('loss', 0.1, step=step)\n"
        "  |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    ) in out
    assert "note: an unsafe fix, applied only with `--unsafe-fixes`\n" in out
    assert out.endswith(
        "Found 2 findings in 1 file (1 fixable with `mlflow-lint fix`). 1 file checked. 1 more fix available with `--unsafe-fixes`.\n"
    )


def test_output_format_in_the_configuration(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.mlflow-lint]\noutput-format = "json"\n')
    write(tmp_path, "train.py", FLAGGED)
    out = run_cli("check", "train.py", cwd=tmp_path).stdout
    assert json.loads(out)["findings"][0]["code"] == "MLF101"
    assert run_cli(
        "check", "--output-format", "concise", "train.py", cwd=tmp_path
    ).stdout.startswith("train.py:3:5")


def test_add_noqa_reaches_a_fixed_point(tmp_path: Path) -> None:
    """Suppressing the first of three consecutive calls uncovers the other two as a group of
    their own (found in MLflow's own code): --add-noqa goes on until nothing is left, so a
    second run adds nothing."""
    source = (
        "import mlflow\n"
        "with mlflow.start_run():\n"
        "    mlflow.log_param('a', 1)\n"
        "    mlflow.log_param('b', 2)\n"
        "    mlflow.log_param('c', 3)\n"
    )
    write(tmp_path, "train.py", source)
    first = run_cli("check", "--add-noqa", "train.py", cwd=tmp_path)
    assert first.returncode == 0 and first.stdout.startswith("Added "), first.stdout
    assert run_cli("check", "train.py", cwd=tmp_path).returncode == 0
    again = run_cli("check", "--add-noqa", "train.py", cwd=tmp_path)
    assert again.stdout == "Added 0 noqa directives in 0 files.\n"


def test_statistics_include_notebooks(tmp_path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Training"),
        nbformat.v4.new_code_cell("import mlflow"),
        nbformat.v4.new_code_cell(
            "with mlflow.start_run():\n"
            "    for step in range(3):\n"
            "        mlflow.log_metric('a', 1, step=step)\n"
            "        mlflow.log_metric('b', 2, step=step)\n"
        ),
    ]
    nbformat.write(notebook, str(tmp_path / "train.ipynb"))
    out = run_cli("check", "--statistics", "train.ipynb", cwd=tmp_path).stdout
    assert "1 file checked, 1 parsed" in out
    assert "  train.ipynb:cell 3:2: now 2 requests per `step` iteration; after the fixes, " in out
    assert "In all, 2 tracking calls in the bodies of 1 loop nest" in out
