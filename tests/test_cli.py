"""The installed `mlflow-lint` command, run as a subprocess."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from conftest import RULES_DIR, run_cli

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
    assert "Found 1 finding." in result.stdout
    assert run_cli("check", "--exit-zero", ".", cwd=tmp_path).returncode == 0
    assert run_cli("check", "--select", "MLF999", ".", cwd=tmp_path).returncode == 2
    assert run_cli("check", "--bogus", cwd=tmp_path).returncode == 2


def test_output_format_and_summary(tmp_path: Path) -> None:
    write(tmp_path, "a.py", FLAGGED)
    out = run_cli("check", "a.py", cwd=tmp_path).stdout
    line = out.splitlines()[0]
    assert re.fullmatch(r"a\.py:3:5: MLF101 `mlflow\.log_metric` in a loop .*", line)
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
    # (flushed once per epoch) and the two epoch metrics merge into one log_metrics
    assert "train.py:3: now epoch x batch x 1 + epoch x 2; after fixes epoch x 2" in out
    assert "Total: 3 tracking calls in the bodies of 1 loop nest now" in out
    assert "as above), 2 after the available fixes" in out
