"""The cost of `mlflow-lint profile` (issue #16): a script making 10,000 logging calls against a
local sqlite tracking URI, run plainly (`python script.py`) and profiled (`python -m mlflow_lint
profile script.py`), as whole processes. The goal: the profiled run takes at most 10% longer.

    python benchmarks/profile_overhead.py              # 10,000 calls, 3 runs of each
    python benchmarks/profile_overhead.py --calls 1000 --repeat 1   # a quick look

Each run gets a fresh copy of one tracking database, created and migrated once beforehand (so
neither side pays for MLflow's migrations), in its own working directory, with MLflow's
telemetry off. Plain and profiled runs alternate (plain, profiled, plain, ...), so a change in
the machine's load hits both; the medians are compared. The profiled time includes everything
`profile` does: instrumenting MLflow, running the script, analysing the file with the engine
and printing the report. Run it with a Python in which this checkout and mlflow are installed.
Prints a Markdown table and writes the runs to --json (default: profile_overhead.json in the
cache folder, benchmarks/.corpus/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.10

SCRIPT = '''\
"""{calls} logging calls, one tracking request each."""

import mlflow

EPOCHS = {epochs}
STEPS = 100

with mlflow.start_run(run_name="overhead"):
    mlflow.log_param("epochs", EPOCHS)
    for epoch in range(EPOCHS):
        for step in range(STEPS):
            mlflow.log_metric("loss", 1.0 / (1 + epoch * STEPS + step), step=epoch * STEPS + step)
'''


def environment(workdir: Path, database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(
        MLFLOW_TRACKING_URI=f"sqlite:///{database}",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def timed(command: list[str], workdir: Path, template: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run."""
    database = workdir / "tracking.db"
    shutil.copyfile(template, database)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        command,
        cwd=workdir,
        env=environment(workdir, database),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="logging calls (x100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / ".corpus" / "profile_overhead.json"
    )
    args = parser.parse_args()
    epochs = max(1, args.calls // 100)
    with tempfile.TemporaryDirectory(prefix="profile-overhead-") as tmp:
        root = Path(tmp)
        script = root / "log_10k.py"
        script.write_text(SCRIPT.format(calls=epochs * 100, epochs=epochs), encoding="utf-8")
        template = root / "template.db"
        subprocess.run(  # create and migrate the database once
            [sys.executable, "-c", "import mlflow; mlflow.MlflowClient().search_experiments()"],
            cwd=root,
            env=environment(root, template),
            check=True,
            capture_output=True,
        )
        plain_cmd = [sys.executable, str(script)]
        profiled_cmd = [sys.executable, "-m", "mlflow_lint", "profile", str(script)]
        runs: dict[str, list[float]] = {"plain": [], "profiled": []}
        cpu: dict[str, list[float]] = {"plain": [], "profiled": []}
        loads = []
        for index in range(args.repeat):
            for kind, command in (("plain", plain_cmd), ("profiled", profiled_cmd)):
                workdir = root / f"{kind}-{index}"
                workdir.mkdir()
                loads.append(os.getloadavg()[0])
                wall, used = timed(command, workdir, template)
                runs[kind].append(wall)
                cpu[kind].append(used)
                print(f"{kind} run {index + 1}: {wall:.2f} s, CPU {used:.2f} s", file=sys.stderr)
    plain = statistics.median(runs["plain"])
    profiled = statistics.median(runs["profiled"])
    overhead = profiled / plain - 1
    cpu_overhead = statistics.median(cpu["profiled"]) / statistics.median(cpu["plain"]) - 1
    verdict = "met" if overhead <= GOAL else "NOT met"
    print("| Run | Calls | Median wall (s) | Median CPU (s) | Wall times (s) |")
    print("|---|---:|---:|---:|---|")
    for kind in ("plain", "profiled"):
        times = ", ".join(f"{t:.2f}" for t in runs[kind])
        print(
            f"| {kind} | {epochs * 100:,} | {statistics.median(runs[kind]):.2f} | "
            f"{statistics.median(cpu[kind]):.2f} | {times} |"
        )
    print(
        f"\nOverhead: {overhead:+.1%} wall (goal: at most {GOAL:.0%}, {verdict}), "
        f"{cpu_overhead:+.1%} CPU; highest 1-minute load average: {max(loads):.1f} on "
        f"{os.cpu_count()} cores"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "calls": epochs * 100,
                "runs": runs,
                "cpu": cpu,
                "overhead": overhead,
                "cpu_overhead": cpu_overhead,
                "goal": GOAL,
                "load": max(loads),
                "python": platform.python_version(),
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
