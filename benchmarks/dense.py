"""Dense logging code (issue #15): how `check`, `fix`, the cache and the flake8 plugin cost on a
file where every function logs, against a bare `libcst.parse_module` of the same file.

    python benchmarks/dense.py                         # the curve: 1k/2k/4k/8k/20k functions
    python benchmarks/dense.py --sizes 2000 --repeat 1 # one size, once
    python benchmarks/dense.py --write 2000 FILE       # only write the generated file
    python benchmarks/dense.py --write 2000 FILE --fixable

The generated file (`generate`) is what a training package, a notebook export or a sweep script
looks like to the engine: `import mlflow`, then N functions, each a `log_param` and a loop with
a `log_metric` (6 lines, 2 findings: MLF101 and MLF108), so every function reaches the tracking
API and nothing can be skipped. The `--fixable` variant logs three params and two metrics one
by one (9 lines, 1 finding, MLF102, which `fix` merges; the three params are below MLF103's
`min-calls-once` in a function that runs once per run, and MLF103 is opt-in) to measure `fix`.

Every command runs as its own process under run.py's wrapper (CPU time, peak RSS); the ratios
compare CPU times measured in the same run (the lowest of --repeat runs, other load only adds
time). Writes the tables to standard output and everything to benchmarks/results/dense.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as runner  # noqa: E402  (benchmarks/run.py: the wrapper, the venvs, the configs)

FUNCTION = """\
def train_{i}(model, loader):
    mlflow.log_param("lr_{i}", 0.1)
    for batch in loader:
        loss = model.step(batch)
        mlflow.log_metric("loss_{i}", loss)

"""
LINES_PER_FUNCTION = 6
FINDINGS_PER_FUNCTION = 2
FIXABLE_FUNCTION = """\
def train_{i}(model, loader):
    mlflow.log_param("lr_{i}", 0.1)
    mlflow.log_param("batch_{i}", 32)
    mlflow.log_param("epochs_{i}", 10)
    for step, batch in enumerate(loader):
        loss = model.step(batch)
        mlflow.log_metric("loss_{i}", loss, step=step)
        mlflow.log_metric("acc_{i}", model.acc, step=step)

"""
FIXABLE_FINDINGS_PER_FUNCTION = 1  # fixed

SIZES = (1000, 2000, 4000, 8000, 20000)
FLAKE8_SIZES = (2000,)
# Targets of issue #15 (CPU time and peak RSS of whole processes, against a bare parse).
TARGET_CHECK_TIME = 1.5
TARGET_CHECK_MEMORY = 1.5
TARGET_FIX_TIME = 3.0
TARGET_CACHE_BYTES = 2_000_000  # the 20,000-function file's entry
TARGET_LINEAR = 1.25  # CPU per function at the largest size vs the smallest, at most
TARGET_FLAKE8_OFF = 1.02  # "nothing measurable": within run-to-run noise

PARSE_ONE = "import sys, libcst; libcst.parse_module(open(sys.argv[1], encoding='utf-8').read())"


def generate(functions: int, fixable: bool = False) -> str:
    """The dense file: `import mlflow`, then `functions` functions."""
    template = FIXABLE_FUNCTION if fixable else FUNCTION
    return "import mlflow\n\n\n" + "".join(template.format(i=i) for i in range(functions))


@dataclass
class Measure:
    label: str
    functions: int
    cpu: float  # lowest over the runs (seconds, user + system)
    wall: float  # of that run
    rss_mb: float  # highest over the runs
    runs: int
    load1: float  # highest 1-minute load average when a run started
    output: str = ""  # the last run's standard output


def measure(
    label: str,
    functions: int,
    argv: list[str],
    cwd: Path,
    repeat: int,
    ok: tuple[int, ...] = (0,),
    before_each: Optional[Callable[[], object]] = None,
) -> Measure:
    """Run `argv` `repeat` times under run.py's wrapper; a failure stops the benchmark."""
    best: Optional[dict[str, Any]] = None
    rss, load1, output = 0, 0.0, ""
    for _ in range(repeat):
        if before_each is not None:
            before_each()
        load1 = max(load1, runner.load_average())
        with tempfile.TemporaryDirectory() as scratch:
            out, err = Path(scratch, "out"), Path(scratch, "err")
            wrapped = [sys.executable, "-c", runner.WRAPPER, "3600", str(out), str(err), str(cwd)]
            done = subprocess.run([*wrapped, *argv], capture_output=True, text=True, check=True)
            data = json.loads(done.stdout)
            if data["rc"] not in ok:
                sys.exit(f"{label}: exit {data['rc']}: {err.read_text()[-500:]}")
            output = out.read_text(errors="replace")
        rss = max(rss, data["maxrss_kb"])
        if best is None or data["cpu"] < best["cpu"]:
            best = data
    assert best is not None
    runner.log(
        f"   {label} ({functions:,} functions): {best['cpu']:.2f} s CPU, {rss / 1024:.0f} MB"
    )
    return Measure(label, functions, best["cpu"], best["wall"], rss / 1024, repeat, load1, output)


def count_findings(output: str) -> int:
    return sum(bool(runner.FINDING.match(line)) for line in output.splitlines())


def cache_entry_bytes(lint: list[str], source: Path) -> int:
    """The size of the content-cache entry `check` writes for `source` (in a project of its
    own, so the entry is alone there)."""
    with tempfile.TemporaryDirectory() as project:
        target = Path(project, source.name)
        shutil.copyfile(source, target)
        Path(project, "pyproject.toml").write_text("[tool.mlflow-lint]\n")
        subprocess.run(
            [*lint, "check", "--exit-zero", target.name],
            cwd=project,
            check=True,
            capture_output=True,
        )
        entries = [
            path
            for path in Path(project, ".mlflow-lint-cache").rglob("*")
            if path.is_file() and len(path.name) == 40  # content entries, not the stat index
        ]
        return max((path.stat().st_size for path in entries), default=0)


def curve_point(
    lint: list[str], work: Path, n: int, repeat: int
) -> tuple[dict[str, Any], list[Measure]]:
    python = sys.executable
    plain, fixable = work / f"dense_{n}.py", work / f"dense_{n}_fixable.py"
    plain.write_text(generate(n), encoding="utf-8")
    fixable.write_text(generate(n, fixable=True), encoding="utf-8")
    parse = measure("parse", n, [python, "-c", PARSE_ONE, plain.name], work, repeat)
    check = measure(
        "check", n, [*lint, "check", "--no-cache", "--exit-zero", plain.name], work, repeat
    )
    parse_fixable = measure(
        "parse (fixable)", n, [python, "-c", PARSE_ONE, fixable.name], work, repeat
    )
    fixing = work / f"fixing_{n}.py"
    fix = measure(
        "fix",
        n,
        [*lint, "fix", fixing.name],
        work,
        repeat,
        ok=(0, 1),  # 1: findings remain (MLF101's fix is unsafe)
        before_each=lambda: shutil.copyfile(fixable, fixing),  # fix rewrites it
    )
    point = {
        "functions": n,
        "lines": n * LINES_PER_FUNCTION + 3,
        "findings": count_findings(check.output),
        "parse_cpu": parse.cpu,
        "parse_rss_mb": parse.rss_mb,
        "check_cpu": check.cpu,
        "check_rss_mb": check.rss_mb,
        "check_time_ratio": check.cpu / parse.cpu,
        "check_memory_ratio": check.rss_mb / parse.rss_mb,
        "check_us_per_function": check.cpu / n * 1e6,
        "fixable_parse_cpu": parse_fixable.cpu,
        "fixable_parse_rss_mb": parse_fixable.rss_mb,
        "fix_cpu": fix.cpu,
        "fix_rss_mb": fix.rss_mb,
        "fix_time_ratio": fix.cpu / parse_fixable.cpu,
        "fix_summary": fix.output.strip().splitlines()[-1] if fix.output.strip() else "",
        "cache_entry_bytes": cache_entry_bytes(lint, plain),
        "load1": max(m.load1 for m in (parse, check, parse_fixable, fix)),
    }
    return point, [parse, check, parse_fixable, fix]


def flake8_rows(cache: Path, work: Path, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    """flake8 alone, and with the plugin under three selections, on the dense file."""
    plugin, missing = runner.flake8_plugin()
    if missing:
        runner.log(f"-- flake8 rows skipped: {missing}")
        return []
    venv = cache / "flake8-venv"
    problem = runner.ensure_venv(venv, runner.project_requirements())
    if problem:
        runner.log(f"-- flake8 rows skipped: {problem}")
        return []
    base, with_plugin = runner.write_flake8_configs(cache, plugin)
    flake8 = str(runner.venv_bin(venv, "flake8"))
    found = []
    for n in sizes:
        name = f"dense_{n}.py"
        if not (work / name).exists():
            (work / name).write_text(generate(n), encoding="utf-8")
        variants = [
            ("flake8 alone", [flake8, "--config", str(base)]),
            (
                "+ plugin, --extend-ignore MLF",
                [flake8, "--config", str(with_plugin), "--extend-ignore", "MLF"],
            ),
            ("+ plugin, --select E,F", [flake8, "--config", str(with_plugin), "--select", "E,F"]),
            ("+ plugin (default selection)", [flake8, "--config", str(with_plugin)]),
        ]
        alone: Optional[Measure] = None
        for label, command in variants:
            result = measure(
                label, n, [*command, "--exit-zero", name], work, repeat if n <= 4000 else 1
            )
            alone = alone or result
            found.append(
                {
                    "functions": n,
                    "label": label,
                    "cpu": result.cpu,
                    "rss_mb": result.rss_mb,
                    "ratio": result.cpu / alone.cpu,
                    "mlf_lines": sum(" MLF" in line for line in result.output.splitlines()),
                    "load1": result.load1,
                }
            )
    return found


def equalities(lint: list[str], work: Path, n: int) -> dict[str, Any]:
    """The equality checks of issue #8 on the dense files of `n` functions: elision on and
    off (benchmarks/elision_check.py, every rule, unsafe fixes on), and the cache on and off
    (`check --no-cache`, a cold `check` and a warm one print the same)."""
    with tempfile.TemporaryDirectory() as project:
        for name in (f"dense_{n}.py", f"dense_{n}_fixable.py"):
            shutil.copyfile(work / name, Path(project, name))
        elided = subprocess.run(
            [sys.executable, str(HERE / "elision_check.py"), project],
            capture_output=True,
            text=True,
        )
        Path(project, "pyproject.toml").write_text("[tool.mlflow-lint]\n")

        def check(*extra: str) -> list[str]:
            out = subprocess.run(
                [*lint, "check", "--exit-zero", *extra, "."],
                cwd=project,
                capture_output=True,
                text=True,
            ).stdout
            return sorted(line for line in out.splitlines() if runner.FINDING.match(line))

        uncached = check("--no-cache")
        cold, warm = check(), check()
    return {
        "functions": n,
        "elision_on_off_equal": elided.returncode == 0,
        "elision_check": elided.stdout.strip().splitlines()[-1] if elided.stdout else "",
        "cache_on_off_equal": uncached == cold == warm,
        "findings": len(uncached),
    }


@dataclass
class Goal:
    name: str
    goal: str
    measured: str
    status: str  # met, NOT MET, n/a


def targets(curve: list[dict[str, Any]], flake8: list[dict[str, Any]]) -> list[Goal]:
    goals = []
    for key, label, limit in (
        ("check_time_ratio", "check CPU time / bare parse", TARGET_CHECK_TIME),
        ("check_memory_ratio", "check peak RSS / bare parse", TARGET_CHECK_MEMORY),
        ("fix_time_ratio", "fix CPU time / bare parse (fixable variant)", TARGET_FIX_TIME),
    ):
        values = {p["functions"]: p[key] for p in curve}
        worst = max(values.values())
        shown = ", ".join(f"{n:,}: {v:.2f}x" for n, v in values.items())
        goals.append(Goal(label, f"<= {limit:g}x", shown, "met" if worst <= limit else "NOT MET"))
    if len(curve) > 1:
        first, last = curve[0], curve[-1]
        growth = last["check_us_per_function"] / first["check_us_per_function"]
        goals.append(
            Goal(
                f"linear: check CPU per function, {last['functions']:,} vs {first['functions']:,}",
                f"<= {TARGET_LINEAR:g}x",
                f"{growth:.2f}x",
                "met" if growth <= TARGET_LINEAR else "NOT MET",
            )
        )
    largest = curve[-1]
    entry = largest["cache_entry_bytes"] * (20000 / largest["functions"])
    exact = largest["functions"] == 20000
    goals.append(
        Goal(
            "cache entry of the 20,000-function file" + ("" if exact else " (scaled)"),
            f"< {TARGET_CACHE_BYTES / 1e6:g} MB",
            f"{entry / 1e6:.2f} MB",
            "met" if entry < TARGET_CACHE_BYTES else "NOT MET",
        )
    )
    for row in flake8:
        if row["label"].startswith("+ plugin,"):
            goals.append(
                Goal(
                    f"flake8 {row['label'][2:]} / flake8 alone ({row['functions']:,} functions)",
                    f"<= {TARGET_FLAKE8_OFF:g}x (nothing measurable)",
                    f"{row['ratio']:.3f}x",
                    "met" if row["ratio"] <= TARGET_FLAKE8_OFF else "NOT MET",
                )
            )
    return goals


def report(curve: list[dict[str, Any]], flake8: list[dict[str, Any]], goals: list[Goal]) -> str:
    out = [
        "| Functions | Lines | Findings | Parse CPU (s) | Check CPU (s) | Check / parse | "
        "Parse RSS (MB) | Check RSS (MB) | Check / parse | Check µs per function | "
        "Fix CPU (s) | Fix / parse | Cache entry (KB) | Load |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for p in curve:
        out.append(
            f"| {p['functions']:,} | {p['lines']:,} | {p['findings']:,} | {p['parse_cpu']:.2f} | "
            f"{p['check_cpu']:.2f} | {p['check_time_ratio']:.2f}x | {p['parse_rss_mb']:.0f} | "
            f"{p['check_rss_mb']:.0f} | {p['check_memory_ratio']:.2f}x | "
            f"{p['check_us_per_function']:.0f} | {p['fix_cpu']:.2f} | {p['fix_time_ratio']:.2f}x | "
            f"{p['cache_entry_bytes'] / 1024:.0f} | {p['load1']:.1f} |"
        )
    if flake8:
        out += [
            "",
            "| flake8 on the dense file | Functions | CPU (s) | vs flake8 alone | Peak RSS (MB) "
            "| MLF lines shown |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        out += [
            f"| {r['label']} | {r['functions']:,} | {r['cpu']:.2f} | {r['ratio']:.3f}x | "
            f"{r['rss_mb']:.0f} | {r['mlf_lines']:,} |"
            for r in flake8
        ]
    out += ["", "| Target | Goal | Measured | Status |", "|---|---|---|---|"]
    out += [f"| {g.name} | {g.goal} | {g.measured} | {g.status} |" for g in goals]
    return "\n".join(out)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--write", nargs=2, metavar=("FUNCTIONS", "FILE"))
    parser.add_argument("--fixable", action="store_true", help="with --write: the fix variant")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--flake8-sizes", default=",".join(map(str, FLAKE8_SIZES)))
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per command up to 4,000 functions (1 above)"
    )
    parser.add_argument("--cache-dir", type=Path, default=runner.DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.write:
        functions, target = int(args.write[0]), Path(args.write[1])
        target.write_text(generate(functions, args.fixable), encoding="utf-8")
        return 0

    runner.check_installation()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    flake8_sizes = [int(s) for s in args.flake8_sizes.split(",") if s]
    cache: Path = args.cache_dir.resolve()
    work = cache / "dense-gen"
    work.mkdir(parents=True, exist_ok=True)
    (work / "pyproject.toml").write_text("[tool.mlflow-lint]\n")  # the default configuration
    lint = runner.mlflow_lint_command()
    started = datetime.datetime.now(datetime.timezone.utc)
    curve: list[dict[str, Any]] = []
    runs: list[Measure] = []
    for n in sizes:
        point, measured = curve_point(lint, work, n, args.repeat if n <= 4000 else 1)
        curve.append(point)
        runs += measured
    flake8 = flake8_rows(cache, work, flake8_sizes, args.repeat)
    equal = equalities(lint, work, sizes[0])
    goals = targets(curve, flake8)
    git = runner.git_info()
    print(
        f"\n## Dense code ({started:%Y-%m-%d %H:%M} UTC, commit {str(git['commit'])[:12]}"
        f"{' (dirty)' if git['dirty'] else ''}, {runner.nproc()} cores, Python "
        f"{sys.version.split()[0]})\n"
    )
    print(report(curve, flake8, goals))
    print(
        f"\nCorrectness ({equal['functions']:,} functions, plain and fixable files): elision on "
        f"and off {'agree' if equal['elision_on_off_equal'] else 'DIFFER'} "
        f"({equal['elision_check']}); --no-cache, cold and warm cache "
        f"{'agree' if equal['cache_on_off_equal'] else 'DIFFER'} ({equal['findings']:,} findings)."
    )
    json_path = args.json or (HERE / "results" / "dense.json")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": f"{started:%Y-%m-%d %H:%M} UTC",
        "commit": git["commit"],
        "dirty": git["dirty"],
        "nproc": runner.nproc(),
        "cpu": runner.cpu_model(),
        "python": sys.version.split()[0],
        "sizes": sizes,
        "flake8_sizes": flake8_sizes,
        "repeat": args.repeat,
    }
    for run in runs:
        run.output = ""  # the findings themselves are not results
    payload = {
        "meta": meta,
        "curve": curve,
        "flake8": flake8,
        "correctness": equal,
        "targets": [asdict(g) for g in goals],
        "runs": [asdict(r) for r in runs],
    }
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nResults written to {json_path}")
    return 0 if equal["elision_on_off_equal"] and equal["cache_on_off_equal"] else 3


if __name__ == "__main__":
    sys.exit(main())
