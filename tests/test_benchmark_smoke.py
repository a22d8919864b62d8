"""The benchmark runner works: `benchmarks/run.py --quick` completes on a tiny corpus built from
this repository (no network, no peers), prints the table with the mlflow-lint rows, and
mlflow-lint's serial and parallel findings agree. No timing assertions: the speed goals live in
the benchmark itself, never in a timed test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "benchmarks" / "run.py"


def test_quick_benchmark_runs_and_serial_parallel_agree(tmp_path: Path) -> None:
    results = tmp_path / "quick.json"
    env = {**os.environ}
    env.pop("PRE_COMMIT", None)
    completed = subprocess.run(
        [
            sys.executable,
            str(RUNNER),
            "--quick",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
            str(results),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "| Row | Files | Wall (s) |" in out
    assert "| mlflow-lint check --jobs 1 " in out
    assert "| limit (a): read every file" in out
    assert "CORRECTNESS MISMATCH" not in out
    assert "Correctness: --jobs 1 and --jobs" in out

    data = json.loads(results.read_text())
    rows = {row["id"]: row for row in data["rows"]}
    assert {"read-limit", "mlflow-lint-j1", "mlflow-lint-jall"} <= set(rows)
    assert not {"parse-limit", "ruff-perf", "flake8", "torchfix", "fixit"} & set(rows)
    for row_id in ("read-limit", "mlflow-lint-j1", "mlflow-lint-jall"):
        assert rows[row_id]["status"] == "ok", rows[row_id]
        assert rows[row_id]["wall"] > 0
    check = data["correctness"]
    assert check["checked"] and check["agree"], check
    # The generated files guarantee that the quick corpus is parsed and holds findings.
    assert check["serial_findings"] == check["parallel_findings"] > 0
    assert data["meta"]["mode"] == "quick"
    # Nothing was downloaded or installed: no pinned corpus, no virtualenvs.
    cache = tmp_path / "cache"
    assert not (cache / "wheels").exists()
    assert not (cache / "peers-venv").exists()
    assert not (cache / "flake8-venv").exists()
