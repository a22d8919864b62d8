"""Fixes never change what is logged, on real MLflow (issue #5).

Every script in tests/scripts/ and every rules/<CODE>/flagged*.py that has a `.fixed.py` twin
runs twice against a real `mlflow server` (sqlite store, proxied artifacts) and against a plain
`sqlite:///` tracking URI: as written, and fixed. What the two runs stored (params, tags,
full metric histories, artifacts, run status; see mlflow_harness.snapshot) must be identical,
and the fixed version must not make more tracking requests. No mocks.

The scripts are fixed here with the installed `mlflow-lint fix --select ALL`, once with safe
fixes only and once with `--unsafe-fixes`. Run with `-s` to see the request counts.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from conftest import RULES_DIR, run_cli
from mlflow_harness import (
    Backend,
    Comparison,
    Outcome,
    RunData,
    Snapshot,
    compare_all,
    copy_script,
    mlflow_server,
    snapshot_json,
    sqlite_backend,
)

from mlflow_lint import engine
from mlflow_lint.config import build_settings
from mlflow_lint.rule import Safety
from mlflow_lint.rules import RULES_BY_CODE

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
SCRIPTS = sorted(p for p in SCRIPTS_DIR.glob("*.py") if not p.name.startswith("_"))
MODES = ("safe", "unsafe")

# What each script in tests/scripts/ is there to exercise: rule code -> whether that rule's
# fix has landed *for this script*. Tick a code off (False -> True) once `mlflow-lint fix`
# rewrites the script for it; from then on test_fix_changes_the_script fails if the fixer
# stops doing so (with plain `fix` too when the rule's fix is safe). A script only exercises
# the rules listed here by design; others may fire on it as well.
EXERCISES: dict[str, dict[str, bool | str]] = {
    "consecutive_metrics.py": {"MLF102": True},
    "hyperparams.py": {"MLF103": True, "MLF104": True},
    "dict_loops.py": {"MLF105": True},
    "epochs_batches.py": {"MLF101": True},
    # client metric merges are unsafe (timestamps, the active model's link): --unsafe-fixes only
    "client_logging.py": {"MLF102": "unsafe", "MLF103": True, "MLF104": True},
    "aliases.py": {"MLF102": True, "MLF103": True, "MLF104": True},
    "seed_runs.py": {"MLF102": True, "MLF103": True, "MLF104": True},
    "artifacts_loop.py": {"MLF107": True},
    "metric_no_step.py": {"MLF108": True},
    "eval_suites.py": {"MLF202": True},
    "manual_run.py": {"MLF302": True},
    "child_runs.py": {"MLF303": True},
}

# Fixes whose point is fewer tracking requests: where one applied, the fixed script must make
# strictly fewer (the others, such as MLF202's hoisted client or MLF302's `with`, make the same).
FEWER_REQUESTS = frozenset({"MLF101", "MLF102", "MLF103", "MLF104", "MLF105"})


# Fixes that deliberately change what is stored, and how. Only these differences are accepted,
# and only when that rule's fix applies to the file; everything else must be identical.
Normalize = Callable[[Snapshot, Snapshot], tuple[Snapshot, Snapshot, list[str]]]


def steps_added(original: Snapshot, fixed: Snapshot) -> tuple[Snapshot, Snapshot, list[str]]:
    """A metric whose points all sat on MLflow's default step 0 now has distinct steps; its
    values are the same. Both sides keep only the sorted values of such a metric."""
    problems: list[str] = []
    original, fixed = copy.deepcopy(original), copy.deepcopy(fixed)
    for key, run in fixed.items():
        before = original.get(key)
        if before is None:
            continue
        for metric, points in run["metrics"].items():
            old = before["metrics"].get(metric)
            if old is None or [s for s, _ in old] == [s for s, _ in points]:
                continue
            if any(step != 0 for step, _ in old):
                problems.append(f"{key}/{metric}: steps changed but were not all 0: {old}")
            if len({step for step, _ in points}) != len(points):
                problems.append(f"{key}/{metric}: the new steps are not distinct: {points}")
            before["metrics"][metric] = [(-1, f"values {sorted(str(v) for _, v in old)}")]
            run["metrics"][metric] = [(-1, f"values {sorted(str(v) for _, v in points)}")]
    return original, fixed, problems


def completes_the_original(
    original: Snapshot, fixed: Snapshot
) -> tuple[Snapshot, Snapshot, list[str]]:
    """The original crashed part way; the fixed script runs to the end. Everything the original
    stored must be stored by the fixed script too, and the runs it left FAILED are FINISHED:
    the fixed snapshot, cut down to what the original has, must equal the original's."""
    problems = [f"{key}: missing from the fixed run" for key in original if key not in fixed]
    want: Snapshot = {}
    got: Snapshot = {}
    for key, run in original.items():
        other = fixed.get(key)
        if other is None:
            continue
        want[key] = {**run, "status": "FINISHED" if run["status"] == "FAILED" else run["status"]}
        metrics = {}
        for metric, points in run["metrics"].items():
            available = list(other["metrics"].get(metric, []))
            metrics[metric] = []
            for point in points:
                if point in available:
                    available.remove(point)
                    metrics[metric].append(point)
        got[key] = RunData(
            status=other["status"],
            parent=other["parent"],
            params={k: v for k, v in other["params"].items() if k in run["params"]},
            tags={k: v for k, v in other["tags"].items() if k in run["tags"]},
            metrics=metrics,
            artifacts=[a for a in other["artifacts"] if a in run["artifacts"]],
        )
    return want, got, problems


@dataclass(frozen=True)
class DataChange:
    why: str
    normalize: Normalize
    original_fails_with: str = ""  # the original raises this by design; the fix repairs it

    def applies(self, original: Outcome) -> bool:
        if not self.original_fails_with:
            return True
        return original.run.returncode != 0 and self.original_fails_with in original.run.stderr


DATA_CHANGES: dict[str, DataChange] = {
    "MLF108": DataChange(
        "adds `step=<loop counter>` to a metric logged in a loop without a step", steps_added
    ),
    "MLF303": DataChange(
        "adds `nested=True` to a `start_run` inside an active run, which raised",
        completes_the_original,
        original_fails_with="is already active",
    ),
}


# --------------------------------------------------------------------------------------------
# Fixing


@dataclass(frozen=True)
class Fixed:
    original: Path
    fixed: Path
    mode: str
    applied: frozenset[str]  # codes with a fix applicable to the original in this mode
    output: str

    @property
    def changed(self) -> bool:
        return self.original.read_bytes() != self.fixed.read_bytes()

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.original.read_text().splitlines(keepends=True),
            self.fixed.read_text().splitlines(keepends=True),
            "original",
            f"fixed ({self.mode})",
        )
        return "".join(lines) or UNCHANGED


UNCHANGED = "(the fixer changed nothing)\n"


def unsafe_flag(mode: str) -> str:
    return "--unsafe-fixes" if mode == "unsafe" else "--no-unsafe-fixes"


def fixable_codes(path: Path, mode: str, select: str = "ALL") -> frozenset[str]:
    """Codes with a fix `mlflow-lint fix` would apply to `path` (in-process, first pass)."""
    settings = build_settings(None, select=[select], unsafe_fixes=mode == "unsafe")
    result = engine.check_file(str(path), settings)
    assert result.error is None, f"{path}: {result.error}"
    return frozenset(
        v.code for v in result.violations if v.fix and engine.applicable(v, mode == "unsafe")
    )


def fix_changes(path: Path, mode: str, code: str) -> bool:
    """Whether fixing `path` with only rule `code` selected changes it (in-process)."""
    settings = build_settings(None, select=[code], unsafe_fixes=mode == "unsafe")
    result, new = engine.fix_source(path.read_bytes(), path.name, settings)
    assert result.error is None, f"{path}: {result.error}"
    return new is not None


def fix_copy(script: Path, mode: str, directory: Path) -> Fixed:
    """Copy `script` into `directory` and run `mlflow-lint fix` on the copy."""
    original = copy_script(script, directory / "original")
    fixed = copy_script(script, directory / f"fixed-{mode}")
    applied = fixable_codes(original, mode)
    result = run_cli("fix", "--select", "ALL", "--jobs", "1", unsafe_flag(mode), str(fixed))
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1), f"mlflow-lint fix failed on {script.name}:\n{output}"
    assert ": error:" not in result.stdout, output
    return Fixed(original, fixed, mode, applied, output)


_fixed_cache: dict[tuple[str, str], Fixed] = {}


@pytest.fixture(scope="module")
def fixed_scripts(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, str], Fixed]:
    root = tmp_path_factory.mktemp("fixed-scripts")

    def get(script: Path, mode: str) -> Fixed:
        key = (script.name, mode)
        if key not in _fixed_cache:
            _fixed_cache[key] = fix_copy(script, mode, root / script.stem / mode)
        return _fixed_cache[key]

    return get


# --------------------------------------------------------------------------------------------
# Backends and the report


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as backend:
        yield backend


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with sqlite_backend(tmp_path_factory.mktemp("mlflow-sqlite")) as backend:
        yield backend


@pytest.fixture(scope="module")
def backends(server: Backend, sqlite: Backend) -> list[Backend]:
    return [server, sqlite]


REPORT: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def request_report() -> Iterator[None]:
    yield
    if REPORT:
        print("\n\nTracking requests, original -> fixed (server: access log; sqlite: store calls)")
        for line in REPORT:
            print("  " + line)


# --------------------------------------------------------------------------------------------
# Checks


def check_everywhere(
    label: str, comparisons: dict[str, Comparison], applied: frozenset[str], code_diff: str
) -> None:
    """check_same_data on every backend; a failure reports all backends' problems."""
    failures = []
    for comparison in comparisons.values():
        try:
            check_same_data(label, comparison, applied, code_diff)
        except AssertionError as error:
            failures.append(f"[{comparison.backend}] {error}")
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


def check_same_data(
    label: str, comparison: Comparison, applied: frozenset[str], code_diff: str
) -> None:
    original, fixed = comparison.original, comparison.fixed
    REPORT.append(
        f"{label:<40} {comparison.backend:<6} {comparison.original_requests:4d} -> "
        f"{comparison.fixed_requests:4d}  ratio {comparison.ratio:.2f}"
    )
    print(f"\n{label} {comparison.summary()}")
    context = f"{label}\n{comparison.describe()}\nfixes applied: {sorted(applied)}\n{code_diff}"

    changes = [DATA_CHANGES[c] for c in sorted(applied & DATA_CHANGES.keys())]
    changes = [change for change in changes if change.applies(original)]
    repairs = [change for change in changes if change.original_fails_with]
    if code_diff == UNCHANGED:  # nothing to fix in this mode: the same script, the same end
        assert fixed.run.returncode == original.run.returncode, context
        if original.run.returncode != 0:  # only a failure some fix exists to repair
            assert any(
                c.original_fails_with and c.original_fails_with in original.run.stderr
                for c in DATA_CHANGES.values()
            ), original.run.failure()
    else:
        if not repairs:
            assert original.run.returncode == 0, original.run.failure()
        assert fixed.run.returncode == 0, (
            f"the fixed script fails\n{context}\n{fixed.run.failure()}"
        )
    for outcome in (original, fixed):
        assert not outcome.run.foreign_requests, (
            f"network access besides the tracking server: {outcome.run.foreign_requests}"
        )
        if comparison.backend == "server":  # the two independent counts must agree
            assert outcome.run.client_requests.by_endpoint == outcome.run.requests.by_endpoint, (
                f"{outcome.run.script}: the script counted {outcome.run.client_requests}, "
                f"the server logged {outcome.run.requests}"
            )
    assert original.snapshot, f"{label}: the original stored nothing\n{original.run.failure()}"

    want, got = original.snapshot, fixed.snapshot
    for change in changes:
        want, got, problems = change.normalize(want, got)
        assert not problems, f"a fix that {change.why} changed more: {problems}\n{context}"
    assert got == want, (
        f"the fixed script stored different data\n{context}\n"
        f"--- original\n{snapshot_json(original.snapshot)}\n--- fixed\n{snapshot_json(fixed.snapshot)}"
    )
    if not repairs:  # a script that used to crash part way may well make more requests now
        assert comparison.fixed_requests <= comparison.original_requests, (
            f"the fixed script makes more tracking requests\n{context}"
        )
        if applied & FEWER_REQUESTS:
            assert comparison.fixed_requests < comparison.original_requests, (
                f"a batching fix ({sorted(applied & FEWER_REQUESTS)}) saved no request\n{context}"
            )


@pytest.mark.server
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_fixed_script_logs_the_same(
    script: Path, mode: str, backends: list[Backend], fixed_scripts: Callable[[Path, str], Fixed]
) -> None:
    fixed = fixed_scripts(script, mode)
    comparisons = compare_all(fixed.original, fixed.fixed, backends)
    check_everywhere(f"{script.name} [{mode}]", comparisons, fixed.applied, fixed.diff())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_fix_changes_the_script(
    script: Path, mode: str, fixed_scripts: Callable[[Path, str], Fixed]
) -> None:
    """A ticked rule's fix must rewrite the script: on its own (only that rule selected) and
    as part of `mlflow-lint fix --select ALL`."""
    assert script.name in EXERCISES, f"add {script.name} to EXERCISES"
    landed = [code for code, ticked in EXERCISES[script.name].items() if ticked]
    if mode == "safe":
        landed = [
            c
            for c in landed
            if c in RULES_BY_CODE
            and RULES_BY_CODE[c].fix_safety is Safety.SAFE
            and EXERCISES[script.name][c] is True
        ]
    if not landed:
        pytest.skip(f"no {mode} fix ticked for {script.name} in EXERCISES")
    fixed = fixed_scripts(script, mode)
    silent = [code for code in landed if not fix_changes(script, mode, code)]
    assert not silent, (
        f"{script.name} exists to exercise {silent}, but `mlflow-lint fix --select CODE "
        f"{unsafe_flag(mode)}` finds nothing to fix for them"
    )
    assert fixed.changed, (
        f"{script.name} exists to exercise {landed}, but `mlflow-lint fix --select ALL "
        f"{unsafe_flag(mode)}` left it unchanged:\n{fixed.output}"
    )


def twins() -> list[object]:
    """(flagged, expected fixed) pairs of the rule example folders, as they are right now."""
    pairs = []
    for flagged in sorted(RULES_DIR.glob("MLF*/flagged*.py")):
        if flagged.name.endswith(".fixed.py"):
            continue
        for suffix in (".fixed.py", ".unsafe.fixed.py"):
            twin = flagged.with_name(flagged.stem + suffix)
            if twin.exists():
                label = f"{flagged.parent.name}/{twin.name}"
                pairs.append(pytest.param(flagged, twin, id=label))
    return pairs


@pytest.mark.server
@pytest.mark.parametrize(("flagged", "twin"), twins())
def test_rule_example_fix_logs_the_same(
    flagged: Path, twin: Path, backends: list[Backend], tmp_path: Path
) -> None:
    original = copy_script(flagged, tmp_path / "original")
    fixed = copy_script(twin, tmp_path / "fixed", name=flagged.name)
    applied = fixable_codes(original, "unsafe")
    diff = Fixed(original, fixed, "unsafe", applied, "").diff()
    comparisons = compare_all(original, fixed, backends)
    check_everywhere(f"rules/{flagged.parent.name}/{flagged.name}", comparisons, applied, diff)


@pytest.mark.server
@pytest.mark.parametrize(("flagged", "twin"), twins())
def test_rule_example_fixed_with_every_rule_logs_the_same(
    flagged: Path, twin: Path, backends: list[Backend], tmp_path: Path
) -> None:
    """The same examples, fixed by `mlflow-lint fix --select ALL --unsafe-fixes` (every rule's
    fix at once, as a user would run it, not only the folder's own rule)."""
    fixed = fix_copy(flagged, "unsafe", tmp_path)
    comparisons = compare_all(fixed.original, fixed.fixed, backends)
    label = f"rules/{flagged.parent.name}/{flagged.name} [ALL]"
    check_everywhere(label, comparisons, fixed.applied, fixed.diff())


@pytest.mark.server
def test_the_comparison_is_not_vacuous(backends: list[Backend], tmp_path: Path) -> None:
    """A script edited to move a metric's points to other steps and set one more tag: the
    harness must see both the different data and the extra request."""
    script = SCRIPTS_DIR / "consecutive_metrics.py"
    original = copy_script(script, tmp_path / "original")
    edited = copy_script(script, tmp_path / "edited")
    text = original.read_text()
    edits = {
        'mlflow.log_metric("bias", b, step=epoch)': 'mlflow.log_metric("bias", b, step=epoch + 1)',
        '    mlflow.log_metric("final_bias", round(b, 6))\n': (
            '    mlflow.log_metric("final_bias", round(b, 6))\n    mlflow.set_tag("edited", True)\n'
        ),
    }
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    edited.write_text(text)
    for kind, comparison in compare_all(original, edited, backends).items():
        assert comparison.original.run.returncode == 0, comparison.original.run.failure()
        assert comparison.fixed.run.returncode == 0, comparison.fixed.run.failure()
        want, got = comparison.original.snapshot, comparison.fixed.snapshot
        assert list(want) == list(got) == ["linear-regression"], kind
        run_want, run_got = want["linear-regression"], got["linear-regression"]
        changed = [
            k for k in run_want["metrics"] if run_want["metrics"][k] != run_got["metrics"][k]
        ]
        assert changed == ["bias"], kind
        steps = [s + 1 for s, _ in run_want["metrics"]["bias"]]
        assert [s for s, _ in run_got["metrics"]["bias"]] == steps, kind
        assert run_got["tags"] == {**run_want["tags"], "edited": "True"}, kind
        assert comparison.fixed_requests == comparison.original_requests + 1, comparison.describe()
