"""Benchmark mlflow-lint against its limits and its peers, as whole processes (issue #8).

    python benchmarks/run.py                  # the full benchmark (builds the corpus and the
                                              # peers' virtualenvs on first use; ~30 minutes)
    python benchmarks/run.py --quick          # a smoke run: a tiny corpus made from this
                                              # repository, mlflow-lint and the read limit only
    python benchmarks/run.py --only mlflow-lint,limits

Run it with a Python in which this checkout is installed (`pip install -e .`). Every command
runs in a fresh wrapper process that times its child with time.perf_counter and reports the
child's peak RSS (resource.getrusage(RUSAGE_CHILDREN).ru_maxrss, the largest single process of
the tree) and CPU time. The tools under comparison never share an environment: ruff, TorchFix
and Fixit live in <cache>/peers-venv, flake8 (with and without the MLF plugin) in
<cache>/flake8-venv; the project's own environment is never modified.

Prints a Markdown table of the rows, a table of the issue's targets (met / not met, by how
much), and writes everything to JSON (benchmarks/results/latest.json for a full run).
Exit status: 0, or 3 when mlflow-lint's serial and parallel findings differ or mlflow-lint
itself failed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CACHE = HERE / ".corpus"
RESULTS = HERE / "results"
DEFAULT_TIMEOUT = 15 * 60.0

# The peers, pinned so that runs on different days compare (bump deliberately, and say so in
# benchmarks/README.md). TorchFix needs libcst < 1.6, so they cannot share the project's env.
PEER_REQUIREMENTS = ("ruff==0.17.6", "torchfix==0.7.0", "fixit==2.2.1")

# Targets of issues #8 and #15 (ratios are "how many times faster mlflow-lint is").
TARGET_PEER_RATIO = 10.0  # vs TorchFix and Fixit
TARGET_RUFF_RATIO = 3.0  # mlflow-lint --jobs 1 at most 3x ruff PERF's CPU time (#15; #8: 5x)
TARGET_WARM_SECONDS = 0.25  # (#15; #8: 0.5 s)
TARGET_WARM_RATIO = 10.0
TARGET_FLAKE8_OVERHEAD = 1.10
TARGET_PARALLEL_SPEEDUP = 1.7

# Runs one command, stdout/stderr to files, and prints one JSON line about it. Runs as its own
# process so that RUSAGE_CHILDREN covers exactly this command (ru_maxrss is a maximum over all
# children ever waited for, so one wrapper per command is the only way to get per-command
# peaks).
WRAPPER = r"""
import json, os, resource, signal, subprocess, sys, threading, time
timeout, out, err, cwd = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cmd = sys.argv[5:]
env = dict(os.environ)
env.pop("PRE_COMMIT", None)
memory = {"total": 0, "processes": 0, "hwm": {}}
done = threading.Event()

def tree(root):
    # the command's process and its descendants, from /proc (Linux)
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found

def sample(root):
    # every 50 ms: the sum of the tree's resident memory, and each process's own peak
    while not done.is_set():
        total = 0
        for pid in tree(root):
            try:
                with open(f"/proc/{pid}/status") as handle:
                    for line in handle:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
                        elif line.startswith("VmHWM:"):
                            peak = int(line.split()[1])
                            memory["hwm"][pid] = max(memory["hwm"].get(pid, 0), peak)
            except (OSError, ValueError):
                pass
        memory["total"] = max(memory["total"], total)
        done.wait(0.05)

with open(out, "wb") as o, open(err, "wb") as e:
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=o, stderr=e, cwd=cwd,
                             env=env, start_new_session=True)
    sampler = None
    if os.path.isdir("/proc"):
        sampler = threading.Thread(target=sample, args=(child.pid,), daemon=True)
        sampler.start()
    try:
        rc, timed_out = child.wait(timeout), False
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        rc, timed_out = child.wait(), True
    wall = time.perf_counter() - start
    done.set()
    if sampler is not None:
        sampler.join()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "maxrss_kb": usage.ru_maxrss,
                  "cpu": usage.ru_utime + usage.ru_stime, "rc": rc, "timed_out": timed_out,
                  "total_rss_kb": memory["total"], "processes": len(memory["hwm"])}))
"""

# Limit (a): the least any tool must do, read every file and look for "mlflow".
READ_LIMIT = r"""
import os, re, sys
pattern = re.compile(rb"(?i)mlflow")
files = hits = 0
for directory, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".py"):
            with open(os.path.join(directory, name), "rb") as handle:
                data = handle.read()
            files += 1
            hits += pattern.search(data) is not None
print(f"{files} files read, {hits} mention mlflow")
"""

# Limit (b): parse every mlflow-mentioning file once with libcst, nothing else.
PARSE_LIMIT = r"""
import os, sys
import libcst
files = failed = 0
for directory, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".py"):
            with open(os.path.join(directory, name), "rb") as handle:
                data = handle.read()
            files += 1
            try:
                libcst.parse_module(data.decode("utf-8"))
            except Exception:
                failed += 1
print(f"{files} files parsed, {failed} failed")
"""

FINDING = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+[0-9]+) ")
FILE_ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): error: ")


# --- data ------------------------------------------------------------------------------------
@dataclass
class Run:
    wall: float
    maxrss_kb: int
    cpu: float
    rc: int
    timed_out: bool
    load1: float  # the 1-minute load average when the run started (other work on the machine)
    total_rss_kb: int = 0  # the largest sum of the process tree's RSS seen (sampled, Linux)
    processes: int = 0  # processes seen in the tree


@dataclass
class Tool:
    id: str
    label: str
    corpus: str  # "big" or "dense": the folder under the corpus root it runs on
    argv: list[str]
    slow: bool = False  # run once (not --repeat times)
    ok_codes: tuple[int, ...] = (0,)
    unavailable: str = ""  # non-empty: the row is reported as "n/a (<reason>)"
    before_each: Optional[Callable[[], None]] = None  # e.g. empty the cache (cold runs)
    before_first: Optional[Callable[[], None]] = None  # e.g. fill the cache (warm runs)
    group: str = ""


@dataclass
class Row:
    id: str
    label: str
    command: str
    files: int
    status: str  # ok, n/a, timeout, failed, skipped
    note: str = ""
    runs: list[Run] = field(default_factory=list)
    wall: Optional[float] = None  # best (lowest) over the runs: other load only adds time
    rss_mb: Optional[float] = None  # max over the runs
    total_rss_mb: Optional[float] = None  # max over the runs, all processes together
    cpu: Optional[float] = None  # of the run with the best wall time
    cpu_best: Optional[float] = None  # the lowest over the runs: CPU targets use it
    wall_median: Optional[float] = None
    output: str = ""  # path of the last run's stdout

    @property
    def files_per_s(self) -> Optional[float]:
        return self.files / self.wall if self.wall else None


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    status: str  # met, NOT MET, n/a
    distance: str


# --- helpers ---------------------------------------------------------------------------------
def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def count_py(root: Path) -> int:
    return sum(name.endswith(".py") for _, _, names in os.walk(root) for name in names)


def capture(cmd: Sequence[str], cwd: Optional[Path] = None) -> str:
    try:
        result = subprocess.run(
            list(cmd), cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"({error})"
    return (result.stdout or result.stderr).strip()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_info() -> dict[str, Any]:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read-only: never refresh the index
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, env=env
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=REPO,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.strip()
    except OSError:
        return {"commit": "unknown", "dirty": None, "changed": []}
    # What the measured code differs from the commit by (the benchmark's own files aside).
    changed = [line for line in status.splitlines() if not line[3:].startswith("benchmarks/")]
    return {"commit": commit or "unknown", "dirty": bool(changed), "changed": changed}


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return -1.0


# --- the corpus ------------------------------------------------------------------------------
def build_corpus(cache: Path) -> None:
    """The pinned-wheel corpus (downloads on first use; a no-op when it is complete)."""
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["bash", str(HERE / "make_corpus.sh"), str(cache)], check=True, env=env)


QUICK_FLAGGED = """\
import mlflow


def train(model, loader, epochs={n}):
    for epoch in range(epochs):
        for step, batch in enumerate(loader):
            loss = model.step(batch)
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metric("epoch", epoch)
"""
QUICK_CLEAN = """\
import mlflow


def train(model, loader, epochs={n}):
    history = []
    for epoch in range(epochs):
        history.append(model.fit(loader))
    mlflow.log_metrics({{"loss": history[-1]}}, step=epochs)
"""
QUICK_PLAIN = """\
def add(a, b):
    return a + b + {n}
"""


QUICK_FILES_PER_FOLDER = 12  # + 18 generated: about 40 files, a few seconds per row
QUICK_MAX_BYTES = 20_000


def build_quick_corpus(cache: Path) -> None:
    """A tiny corpus made only from this repository and generated files: no network. Its size
    is bounded whatever the repository grows to (the smoke test must stay fast)."""
    quick = cache / "quick"
    if quick.exists():
        shutil.rmtree(quick)
    big = quick / "big"
    for folder in ("rules", "mlflow_lint"):
        sources = [
            source
            for source in sorted((REPO / folder).rglob("*.py"))
            if "__pycache__" not in source.parts and source.stat().st_size <= QUICK_MAX_BYTES
        ]
        for source in sources[:QUICK_FILES_PER_FOLDER]:
            target = big / source.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    generated = big / "generated"
    generated.mkdir(parents=True)
    for n in range(6):
        (generated / f"flagged_{n}.py").write_text(QUICK_FLAGGED.format(n=n + 1))
        (generated / f"clean_{n}.py").write_text(QUICK_CLEAN.format(n=n + 1))
        (generated / f"plain_{n}.py").write_text(QUICK_PLAIN.format(n=n))
    dense = quick / "dense"
    for source in big.rglob("*.py"):
        if b"mlflow" in source.read_bytes():
            target = dense / source.relative_to(big)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


ISOLATION = """\
# Written by benchmarks/run.py. Makes this folder the project root of the tools under
# benchmark, each with its default configuration: mlflow-lint stops its config search here,
# and Fixit's file walker does not inherit the repository's .gitignore (which ignores this
# folder: Fixit would silently check nothing).
[tool.mlflow-lint]

[tool.fixit]
root = true
"""


def write_isolation(corpus_root: Path) -> None:
    corpus_root.mkdir(parents=True, exist_ok=True)
    path = corpus_root / "pyproject.toml"
    if not path.exists() or path.read_text() != ISOLATION:
        path.write_text(ISOLATION)


# --- virtualenvs for the tools that must not share the project's environment ---------------
def venv_bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_venv(venv: Path, requirements: Sequence[str]) -> str:
    """Create `venv` with exactly `requirements` (once); returns "" or why it failed."""
    stamp = venv / "benchmark-requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    if stamp.exists() and stamp.read_text() == wanted:
        return ""
    log(f"== creating {venv} with {' '.join(requirements)}")
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv_bin(venv, "python")), "-m", "pip", "install", "--quiet", *requirements],
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        return f"could not create {venv.name}: {error}"
    stamp.write_text(wanted)
    return ""


def project_requirements() -> list[str]:
    """mlflow-lint's runtime dependencies, with flake8 and libcst pinned to the versions of
    this environment, so that flake8 + plugin runs against the same libcst as the CLI."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # tomli is a dependency of mlflow-lint below 3.11
        import tomli as tomllib
    from importlib.metadata import PackageNotFoundError, version

    with (REPO / "pyproject.toml").open("rb") as handle:
        dependencies: list[str] = tomllib.load(handle)["project"]["dependencies"]
    pinned = []
    for requirement in dependencies:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip()
        if name.lower() in ("flake8", "libcst"):
            with contextlib.suppress(PackageNotFoundError):
                requirement = f"{name}=={version(name)}"
        pinned.append(requirement)
    return pinned


def flake8_plugin() -> tuple[str, str]:
    """(entry point value, reason it is unavailable or "") of the MLF flake8 extension."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    with (REPO / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)["project"]
    value = project.get("entry-points", {}).get("flake8.extension", {}).get("MLF", "")
    if not value:
        return "", "no MLF flake8.extension entry point in pyproject.toml"
    module = value.split(":")[0]
    if not (REPO / (module.replace(".", "/") + ".py")).exists():
        return value, f"plugin module {module} does not exist yet"
    return value, ""


def write_flake8_configs(cache: Path, plugin: str) -> tuple[Path, Path]:
    """Two config files that differ only in loading the MLF plugin (as a local plugin from
    this checkout), so both runs use the same flake8, environment and options."""
    base = cache / "flake8-base.cfg"
    with_plugin = cache / "flake8-mlf.cfg"
    header = "# Written by benchmarks/run.py.\n[flake8]\n"
    base.write_text(header)
    with_plugin.write_text(
        header + f"\n[flake8:local-plugins]\nextension =\n    MLF = {plugin}\npaths =\n    {REPO}\n"
    )
    return base, with_plugin


# --- mlflow-lint -----------------------------------------------------------------------------
def mlflow_lint_command() -> list[str]:
    script = Path(sys.executable).parent / "mlflow-lint"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlflow_lint"]


def check_installation() -> str:
    """Refuse to benchmark without mlflow-lint; warn when it is not this checkout."""
    try:
        import mlflow_lint
    except ImportError:
        sys.exit(
            "mlflow-lint is not installed in this Python; from the repository root run:\n"
            "    pip install -e . && python benchmarks/run.py"
        )
    location = Path(mlflow_lint.__file__).resolve().parent.parent
    if location != REPO:
        log(f"warning: benchmarking mlflow-lint installed at {location}, not {REPO}")
    return str(getattr(mlflow_lint, "__version__", "?"))


@dataclass
class CacheSupport:
    present: bool  # `check --help` lists --no-cache
    dir_flag: bool  # ... and --cache-dir


def cache_support(lint: Sequence[str]) -> CacheSupport:
    help_text = capture([*lint, "check", "--help"])
    return CacheSupport("--no-cache" in help_text, "--cache-dir" in help_text)


# --- the tools -------------------------------------------------------------------------------
def make_tools(args: argparse.Namespace, cache: Path, corpus_root: Path, jobs: int) -> list[Tool]:
    lint = mlflow_lint_command()
    support = cache_support(lint)
    lint_cache = cache / "mlflow-lint-cache"

    def clear_lint_cache() -> None:
        # With --cache-dir the location is ours; otherwise the default folder in the cwd.
        for folder in (lint_cache, corpus_root / ".mlflow-lint-cache"):
            shutil.rmtree(folder, ignore_errors=True)

    cache_args = ["--cache-dir", str(lint_cache)] if support.dir_flag else []

    def check(jobs_n: int, *extra: str) -> list[str]:
        return [*lint, "check", "--jobs", str(jobs_n), "--exit-zero", *extra, "big"]

    tools: list[Tool] = [
        Tool(
            "read-limit",
            'limit (a): read every file, search b"mlflow" (case-insensitive)',
            "big",
            [sys.executable, "-c", READ_LIMIT, "big"],
            group="limits",
        ),
        Tool(
            "parse-limit",
            "limit (b): libcst.parse_module on every dense/ file",
            "dense",
            [sys.executable, "-c", PARSE_LIMIT, "dense"],
            slow=True,
            group="limits",
        ),
    ]
    no_cache = "n/a (no cache yet)"
    for name, n in (("j1", 1), ("jall", jobs)):
        tools.append(
            Tool(
                f"mlflow-lint-{name}",
                f"mlflow-lint check --jobs {n}" + (" (cold cache)" if support.present else ""),
                "big",
                check(n, *cache_args),
                ok_codes=(0, 2),  # 2: some corpus file could not be checked (reported)
                before_each=clear_lint_cache if support.present else None,
                group="mlflow-lint",
            )
        )
    for name, n in (("j1", 1), ("jall", jobs)):
        warm = check(n, *cache_args)
        tools.append(
            Tool(
                f"mlflow-lint-{name}-warm",
                f"mlflow-lint check --jobs {n} (warm cache)",
                "big",
                warm,
                ok_codes=(0, 2),
                unavailable="" if support.present else no_cache,
                before_first=(lambda cmd=warm: fill_cache(cmd, corpus_root)),
                group="mlflow-lint",
            )
        )
    if support.present:
        tools.append(
            Tool(
                "mlflow-lint-j1-nocache",
                "mlflow-lint check --jobs 1 --no-cache",
                "big",
                check(1, "--no-cache"),
                ok_codes=(0, 2),
                group="mlflow-lint",
            )
        )
    if args.quick:
        return [t for t in tools if t.group == "mlflow-lint" or t.id == "read-limit"]

    peers = cache / "peers-venv"
    flake8_venv = cache / "flake8-venv"
    plugin, plugin_missing = flake8_plugin()
    base_cfg, plugin_cfg = write_flake8_configs(cache, plugin)
    flake8 = str(venv_bin(flake8_venv, "flake8"))
    tools += [
        Tool(
            "ruff-perf",
            "ruff check --select PERF",
            "big",
            [
                str(venv_bin(peers, "ruff")),
                "check",
                "--isolated",
                "--select",
                "PERF",
                "--exit-zero",
                "--no-cache",
                "big",
            ],
            group="peers",
        ),
        Tool(
            "flake8",
            "flake8 (default selection, no MLF plugin)",
            "big",
            [flake8, "--config", str(base_cfg), "--exit-zero", "big"],
            slow=True,
            group="flake8",
        ),
        Tool(
            "flake8-mlf",
            "flake8 (default selection + MLF plugin)",
            "big",
            [flake8, "--config", str(plugin_cfg), "--exit-zero", "big"],
            slow=True,
            unavailable=f"n/a ({plugin_missing})" if plugin_missing else "",
            group="flake8",
        ),
        Tool(
            "flake8-select-mlf",
            "flake8 --select MLF (plugin only)",
            "big",
            [flake8, "--config", str(plugin_cfg), "--select", "MLF", "--exit-zero", "big"],
            slow=True,  # flake8 runs its own checkers whatever --select says; it only filters
            unavailable=f"n/a ({plugin_missing})" if plugin_missing else "",
            group="flake8",
        ),
        Tool(
            "flake8-dense",
            "flake8 (default selection, no MLF plugin), dense/",
            "dense",
            [flake8, "--config", str(base_cfg), "--exit-zero", "dense"],
            slow=True,
            group="flake8",
        ),
        Tool(
            "flake8-mlf-dense",
            "flake8 (default selection + MLF plugin), dense/",
            "dense",
            [flake8, "--config", str(plugin_cfg), "--exit-zero", "dense"],
            slow=True,
            unavailable=f"n/a ({plugin_missing})" if plugin_missing else "",
            group="flake8",
        ),
        Tool(
            "flake8-mlf-off-dense",
            "flake8 + MLF plugin --extend-ignore MLF, dense/",
            "dense",
            [flake8, "--config", str(plugin_cfg), "--extend-ignore", "MLF", "--exit-zero", "dense"],
            slow=True,  # the plugin learns from flake8's options that nothing of it is shown
            unavailable=f"n/a ({plugin_missing})" if plugin_missing else "",
            group="flake8",
        ),
        Tool(
            "torchfix",
            f"torchfix (default: --jobs {jobs})",
            "big",
            [str(venv_bin(peers, "torchfix")), "big"],
            slow=True,
            ok_codes=(0, 1),  # 1: some files failed to parse
            group="peers",
        ),
        Tool(
            "fixit",
            "fixit lint (default rules)",
            "big",
            [str(venv_bin(peers, "fixit")), "lint", "big"],
            slow=True,
            ok_codes=(0, 1),  # 1: findings
            group="peers",
        ),
    ]
    return tools


def fill_cache(cmd: Sequence[str], cwd: Path) -> None:
    subprocess.run(list(cmd), cwd=cwd, capture_output=True, check=False)


def select_tools(tools: list[Tool], only: Optional[str]) -> list[Tool]:
    if not only:
        return tools
    wanted = [token.strip() for token in only.split(",") if token.strip()]
    chosen = [
        t for t in tools if any(w in (t.id, t.group) or t.id.startswith(w + "-") for w in wanted)
    ]
    if not chosen:
        ids = ", ".join(sorted({t.id for t in tools} | {t.group for t in tools}))
        sys.exit(f"--only {only}: no such tool; known: {ids}")
    return chosen


# --- running ---------------------------------------------------------------------------------
def run_once(tool: Tool, corpus_root: Path, out_dir: Path, timeout: float) -> Run:
    stdout = out_dir / f"{tool.id}.out"
    stderr = out_dir / f"{tool.id}.err"
    wrapper = [
        sys.executable,
        "-c",
        WRAPPER,
        str(timeout),
        str(stdout),
        str(stderr),
        str(corpus_root),
        *tool.argv,
    ]
    load1 = load_average()
    result = subprocess.run(wrapper, capture_output=True, text=True, timeout=timeout + 120)
    if result.returncode != 0:
        raise RuntimeError(f"wrapper failed for {tool.id}: {result.stderr.strip()}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Run(
        data["wall"],
        data["maxrss_kb"],
        data["cpu"],
        data["rc"],
        data["timed_out"],
        load1,
        data.get("total_rss_kb", 0),
        data.get("processes", 0),
    )


def measure(tool: Tool, corpus_root: Path, out_dir: Path, repeat: int, timeout: float) -> Row:
    files = count_py(corpus_root / tool.corpus)
    command = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(tool.argv))
    if tool.argv[:2] == [sys.executable, "-c"]:
        command = f"python -c <{tool.id} script> {' '.join(tool.argv[3:])}"
    row = Row(tool.id, tool.label, command, files, "ok")
    if tool.unavailable:
        row.status, row.note = "n/a", tool.unavailable
        log(f"-- {tool.id}: {tool.unavailable}")
        return row
    if not Path(tool.argv[0]).exists():
        row.status, row.note = "n/a", f"n/a ({tool.argv[0]} not installed)"
        log(f"-- {tool.id}: {row.note}")
        return row
    if tool.before_first:
        tool.before_first()
    for attempt in range(repeat):
        if tool.before_each:
            tool.before_each()
        log(f"-- {tool.id} [{attempt + 1}/{repeat}]: {command}")
        run = run_once(tool, corpus_root, out_dir, timeout)
        row.runs.append(run)
        log(
            f"   {run.wall:.2f} s wall, {run.cpu:.2f} s CPU, {run.maxrss_kb / 1024:.0f} MB, "
            f"exit {run.rc}, load {run.load1}" + (" TIMEOUT" if run.timed_out else "")
        )
        if run.timed_out:
            row.status, row.note = "timeout", f"killed after {timeout:.0f} s"
            break
        if run.rc not in tool.ok_codes:
            row.status = "failed"
            tail = (out_dir / f"{tool.id}.err").read_text(errors="replace").strip()[-300:]
            row.note = f"exit {run.rc}: {tail}"
            break
    row.output = str(out_dir / f"{tool.id}.out")
    good = [r for r in row.runs if not r.timed_out]
    if row.status == "timeout":
        row.wall = timeout  # a lower bound
    elif good:
        best = min(good, key=lambda r: r.wall)
        row.wall, row.cpu = best.wall, best.cpu
        row.cpu_best = min(r.cpu for r in good)
        row.wall_median = statistics.median(r.wall for r in good)
    if good:  # a killed run's workers are never waited for: its rusage is meaningless
        row.rss_mb = max(r.maxrss_kb for r in good) / 1024
        row.total_rss_mb = max(r.total_rss_kb for r in good) / 1024 or None
    if row.status == "ok" and not row.note:
        row.note = summarize_output(tool, out_dir)
    return row


def summarize_output(tool: Tool, out_dir: Path) -> str:
    """A one-line note about what the tool found, from its last run's output."""
    out = (out_dir / f"{tool.id}.out").read_text(errors="replace")
    err = (out_dir / f"{tool.id}.err").read_text(errors="replace")
    lines = out.splitlines()
    if tool.id.startswith("mlflow-lint"):
        findings = sum(bool(FINDING.match(line)) for line in lines)
        errors = sum(bool(FILE_ERROR.match(line)) for line in lines)
        return f"{findings} findings, {errors} file errors"
    if tool.id in ("read-limit", "parse-limit"):
        return lines[-1] if lines else ""
    if tool.id.startswith("flake8"):
        return f"{len(lines)} findings"
    if tool.id == "ruff-perf":
        found = [line for line in lines if line.startswith(("Found", "All checks"))]
        return found[-1] if found else ""
    if tool.id == "torchfix":
        done = [line for line in err.splitlines() if line.startswith("Finished checking")]
        return (done[-1] + " (the ones mentioning torch)") if done else err.strip()[-120:]
    if tool.id == "fixit":
        summary = [line for line in (out + err).splitlines() if "files" in line]
        return summary[-1].strip(" 🧼🛠️") if summary else ""
    return ""


# --- correctness -----------------------------------------------------------------------------
def lint_lines(row: Row) -> tuple[list[str], list[str]]:
    lines = Path(row.output).read_text(errors="replace").splitlines()
    return (
        sorted(line for line in lines if FINDING.match(line)),
        sorted(line for line in lines if FILE_ERROR.match(line)),
    )


def correctness(rows: dict[str, Row]) -> dict[str, Any]:
    """--jobs 1 and --jobs N, cold, warm and without the cache: the same findings and errors."""
    serial, parallel = rows.get("mlflow-lint-j1"), rows.get("mlflow-lint-jall")
    if not serial or not parallel or serial.status != "ok" or parallel.status != "ok":
        return {"checked": False, "agree": None, "note": "needs mlflow-lint-j1 and -jall"}
    s_find, s_err = lint_lines(serial)
    p_find, p_err = lint_lines(parallel)
    agree = s_find == p_find and s_err == p_err
    result: dict[str, Any] = {
        "checked": True,
        "agree": agree,
        "serial_findings": len(s_find),
        "parallel_findings": len(p_find),
        "serial_file_errors": len(s_err),
        "parallel_file_errors": len(p_err),
        "compared": ["mlflow-lint-jall"],
        "differ": [],
    }
    if not agree:
        result["only_serial"] = sorted(set(s_find + s_err) - set(p_find + p_err))[:20]
        result["only_parallel"] = sorted(set(p_find + p_err) - set(s_find + s_err))[:20]
    # the cache changes nothing either: warm runs and --no-cache print what the cold run does
    for other in ("mlflow-lint-j1-warm", "mlflow-lint-jall-warm", "mlflow-lint-j1-nocache"):
        row = rows.get(other)
        if row is None or row.status != "ok":
            continue
        result["compared"].append(other)
        if lint_lines(row) != (s_find, s_err):
            result["differ"].append(other)
            result["agree"] = False
    return result


# --- targets ---------------------------------------------------------------------------------
def at_least(name: str, goal: float, ratio: Optional[float], lower_bound: bool) -> Target:
    """Target "ratio >= goal" (ratio: how many times faster)."""
    if ratio is None:
        return Target(name, f">= {goal:g}x", "n/a", "n/a", "")
    shown = f"{'>= ' if lower_bound else ''}{ratio:.2f}x"
    if ratio >= goal:
        return Target(name, f">= {goal:g}x", shown, "met", f"{ratio / goal:.2f}x margin")
    if lower_bound:  # the peer timed out: we only know a lower bound, and it is not enough
        return Target(name, f">= {goal:g}x", shown, "n/a", "peer timed out: unknown")
    return Target(name, f">= {goal:g}x", shown, "NOT MET", f"{goal / ratio:.2f}x short")


def at_most(name: str, goal: float, value: Optional[float], unit: str) -> Target:
    """Target "value <= goal"."""
    if value is None:
        return Target(name, f"<= {goal:g}{unit}", "n/a", "n/a", "")
    shown = f"{value:.3g}{unit}"
    if value <= goal:
        return Target(name, f"<= {goal:g}{unit}", shown, "met", f"{goal / value:.2f}x margin")
    return Target(name, f"<= {goal:g}{unit}", shown, "NOT MET", f"{value / goal:.2f}x over")


def targets(rows: dict[str, Row], jobs: int) -> list[Target]:
    def wall(row_id: str) -> Optional[float]:
        row = rows.get(row_id)
        return row.wall if row and row.status in ("ok", "timeout") else None

    def timed_out(row_id: str) -> bool:
        row = rows.get(row_id)
        return bool(row and row.status == "timeout")

    def ratio(slow: str, fast: str) -> Optional[float]:
        a, b = wall(slow), wall(fast)
        return a / b if a and b and not timed_out(fast) else None

    def cpu_ratio(slow: str, fast: str) -> Optional[float]:
        a, b = (rows[i].cpu_best if i in rows else None for i in (slow, fast))
        return a / b if a and b else None

    j1 = "mlflow-lint-j1"
    result = [
        at_least(
            "--jobs 1 (whole corpus) faster than libcst-parsing the dense files",
            1.0,
            ratio("parse-limit", j1),
            timed_out("parse-limit"),
        ),
        at_least(
            "--jobs 1 vs TorchFix", TARGET_PEER_RATIO, ratio("torchfix", j1), timed_out("torchfix")
        ),
        at_least("--jobs 1 vs Fixit", TARGET_PEER_RATIO, ratio("fixit", j1), timed_out("fixit")),
    ]
    ruff_ratio = cpu_ratio(j1, "ruff-perf")
    ruff_target = at_most(
        "--jobs 1 CPU time / ruff PERF CPU time", TARGET_RUFF_RATIO, ruff_ratio, "x"
    )
    if ratio(j1, "ruff-perf"):
        ruff_target.distance += f" (wall-time ratio {ratio(j1, 'ruff-perf'):.1f}x)"
    result.append(ruff_target)
    for name, label in (("j1", "--jobs 1"), ("jall", f"--jobs {jobs}")):
        warm_id = f"mlflow-lint-{name}-warm"
        warm = at_most(f"warm cache {label}: wall", TARGET_WARM_SECONDS, wall(warm_id), " s")
        if warm_id in rows and rows[warm_id].cpu_best:
            warm.distance += f" (CPU {rows[warm_id].cpu_best:.2f} s)"
        result.append(warm)
        result.append(
            at_least(
                f"warm cache {label}: vs cold",
                TARGET_WARM_RATIO,
                ratio(f"mlflow-lint-{name}", warm_id),
                False,
            )
        )
    for suffix, where in (("", "whole corpus"), ("-dense", "dense/")):
        flake8_target = at_most(
            f"flake8 + MLF plugin / flake8 alone ({where})",
            TARGET_FLAKE8_OVERHEAD,
            ratio(f"flake8-mlf{suffix}", f"flake8{suffix}"),
            "x",
        )
        cpu = cpu_ratio(f"flake8-mlf{suffix}", f"flake8{suffix}")
        if cpu:  # less sensitive to other work on the machine than wall time
            flake8_target.distance += f" (CPU-time ratio {cpu:.2f}x)"
        result.append(flake8_target)
    off = cpu_ratio("flake8-mlf-off-dense", "flake8-dense")
    result.append(
        Target(
            "flake8 + MLF plugin, --extend-ignore MLF / flake8 alone (dense/)",
            "nothing measurable",
            f"{off:.3f}x CPU" if off else "n/a",
            "n/a" if off is None else ("met" if off <= 1.02 else "NOT MET"),
            "" if off is None else "within 2 % (run-to-run noise)",
        )
    )
    result.append(
        at_least(
            f"--jobs {jobs} vs --jobs 1 speed-up",
            TARGET_PARALLEL_SPEEDUP,
            ratio(j1, "mlflow-lint-jall"),
            False,
        )
    )
    return result


# --- output ----------------------------------------------------------------------------------
def fmt(value: Optional[float], digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def rows_table(rows: Sequence[Row]) -> str:
    out = [
        "| Row | Files | Wall (s) | Files/s | Peak RSS (MB) | Total RSS (MB) | CPU (s) | Runs "
        "| Median (s) | Load | Notes |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        if r.status == "n/a":
            out.append(f"| {r.label} | {r.files:,} | n/a | | | | | 0 | | | {r.note} |")
            continue
        wall = fmt(r.wall)
        if r.status == "timeout":
            wall = f"> {wall} (timeout)"
        note = r.note if r.status == "ok" else f"{r.status.upper()}: {r.note}"
        fps = fmt(r.files_per_s, 0) if r.status == "ok" else ""
        load = fmt(max((run.load1 for run in r.runs), default=None), 1)
        out.append(
            f"| {r.label} | {r.files:,} | {wall} | {fps} | {fmt(r.rss_mb, 0)} | "
            f"{fmt(r.total_rss_mb, 0)} | {fmt(r.cpu)} | {len(r.runs)} | {fmt(r.wall_median)} | "
            f"{load} | "
            f"{note.replace('|', '/')} |"
        )
    return "\n".join(out)


def targets_table(items: Sequence[Target]) -> str:
    out = ["| Target | Goal | Measured | Status | Distance |", "|---|---|---|---|---|"]
    out += [f"| {t.name} | {t.goal} | {t.measured} | {t.status} | {t.distance} |" for t in items]
    return "\n".join(out)


def versions(cache: Path, lint_version: str, quick: bool) -> dict[str, str]:
    from importlib.metadata import version

    found = {"mlflow-lint": lint_version, "libcst": version("libcst")}
    if quick:
        return found
    peers, flake8_venv = cache / "peers-venv", cache / "flake8-venv"
    for name, cmd in (
        ("ruff", [str(venv_bin(peers, "ruff")), "--version"]),
        ("torchfix", [str(venv_bin(peers, "torchfix")), "--version"]),
        ("fixit", [str(venv_bin(peers, "fixit")), "--version"]),
        ("flake8", [str(venv_bin(flake8_venv, "flake8")), "--version"]),
    ):
        if Path(cmd[0]).exists():
            match = re.search(r"\d+(\.\d+)+", capture(cmd))
            found[name] = match.group(0) if match else "?"
    return found


# --- main ------------------------------------------------------------------------------------
def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke mode: a tiny corpus from this repository, mlflow-lint and the read limit, "
        "one run each, no network",
    )
    parser.add_argument(
        "--only",
        metavar="TOOL[,TOOL]",
        help="run only these rows (ids or groups: mlflow-lint, limits, peers, flake8, "
        "read-limit, parse-limit, ruff-perf, torchfix, fixit, ...)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"corpus, virtualenvs and outputs (default: {DEFAULT_CACHE.relative_to(REPO)})",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per fast row, the best is reported (default 3; 1 with --quick)",
    )
    parser.add_argument(
        "--repeat-slow",
        type=int,
        default=1,
        help="runs per slow row: flake8, TorchFix, Fixit, the parse limit (default 1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds per command before it is killed and reported as a timeout (default 900)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="where to write the results as JSON"
    )
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    started = time.time()
    load_at_start = load_average()
    git_at_start = git_info()  # what the mlflow-lint rows (which run first) measure
    lint_version = check_installation()
    cache: Path = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    jobs = nproc()

    if args.quick:
        build_quick_corpus(cache)
        corpus_root = cache / "quick"
    else:
        build_corpus(cache)
        corpus_root = cache
    write_isolation(corpus_root)
    out_dir = corpus_root / "out"
    out_dir.mkdir(exist_ok=True)

    tools = select_tools(make_tools(args, cache, corpus_root, jobs), args.only)
    if not args.quick:
        needs = {t.argv[0] for t in tools if not t.unavailable}
        if any(str(cache / "peers-venv") in a for a in needs):
            problem = ensure_venv(cache / "peers-venv", PEER_REQUIREMENTS)
            if problem:
                log(f"warning: {problem}")
        if any(str(cache / "flake8-venv") in a for a in needs):
            problem = ensure_venv(cache / "flake8-venv", project_requirements())
            if problem:
                log(f"warning: {problem}")

    # Warm the page cache so that the first row does not pay for the disk.
    for folder in ("big", "dense"):
        for directory, _, names in os.walk(corpus_root / folder):
            for name in names:
                with open(os.path.join(directory, name), "rb") as handle:
                    handle.read()

    rows: list[Row] = []
    for tool in tools:
        repeat = args.repeat_slow if tool.slow else args.repeat
        rows.append(measure(tool, corpus_root, out_dir, max(1, repeat), args.timeout))
    by_id = {r.id: r for r in rows}
    check = correctness(by_id)
    goals = [] if args.quick else targets(by_id, jobs)

    git = git_at_start
    git_at_end = git_info()
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git["commit"],
        "dirty": git["dirty"],
        "uncommitted_changes": git["changed"],  # files that differ from the commit
        # Others may commit in a shared checkout while the benchmark runs:
        "commit_at_end": git_at_end["commit"],
        "uncommitted_changes_at_end": git_at_end["changed"],
        "nproc": jobs,
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mode": "quick" if args.quick else "full",
        "only": args.only,
        "corpus": str(corpus_root),
        "corpus_files": {f: count_py(corpus_root / f) for f in ("big", "dense")},
        "repeat": args.repeat,
        "repeat_slow": args.repeat_slow,
        "timeout": args.timeout,
        "versions": versions(cache, lint_version, args.quick),
        "total_seconds": round(time.time() - started, 1),
        "load_at_start": load_at_start,
        "load_at_end": load_average(),
    }
    header = (
        f"{meta['date']}, commit {str(meta['commit'])[:12]}{' (dirty)' if git['dirty'] else ''}, "
        f"{jobs} cores ({meta['cpu']}), Python {meta['python']}, "
        f"corpus {meta['corpus_files']['big']:,} files ({meta['corpus_files']['dense']:,} dense)"
    )
    if git_at_end["commit"] != git["commit"]:
        header += f" (the checkout moved to {str(git_at_end['commit'])[:12]} during the run)"
    print(f"\n## mlflow-lint benchmark ({meta['mode']})\n\n{header}\n")
    print(rows_table(rows))
    if goals:
        print("\n" + targets_table(goals))
    print()
    if check["checked"]:
        if check["agree"]:
            print(
                f"Correctness: --jobs 1 and --jobs {jobs} agree, and so do the warm and "
                f"--no-cache runs ({len(check['compared'])} rows compared): "
                f"{check['serial_findings']} findings, {check['serial_file_errors']} file errors."
            )
        else:
            print(
                textwrap.dedent(f"""\
                !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
                CORRECTNESS MISMATCH: --jobs 1 and --jobs {jobs} report different results
                  serial:   {check["serial_findings"]} findings, {check["serial_file_errors"]} file errors
                  parallel: {check["parallel_findings"]} findings, {check["parallel_file_errors"]} file errors
                  only serial:   {check.get("only_serial", [])[:5]}
                  only parallel: {check.get("only_parallel", [])[:5]}
                  other rows that differ from --jobs 1: {check["differ"]}
                !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!""")
            )
    else:
        print(f"Correctness: not checked ({check['note']}).")
    print(f"Versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}")

    json_path = args.json
    if json_path is None:  # only a complete run replaces the committed results
        if args.quick or args.only:
            json_path = cache / "results" / ("quick.json" if args.quick else "partial.json")
        else:
            json_path = RESULTS / "latest.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "meta": meta,
        "rows": [{**asdict(r), "files_per_s": r.files_per_s} for r in rows],
        "targets": [asdict(t) for t in goals],
        "correctness": check,
    }
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"Results written to {json_path}")

    lint_failed = any(r.id.startswith("mlflow-lint") and r.status == "failed" for r in rows)
    return 3 if check.get("agree") is False or lint_failed else 0


if __name__ == "__main__":
    sys.exit(main())
