"""Sweep: every .py file (and notebook) installed in this environment's site-packages (#5).

The installed `mlflow-lint` runs over the whole of site-packages (purelib, and platlib when it
differs) twice, as a user would run it:

    mlflow-lint check --select ALL --exit-zero --statistics --jobs 2 <site-packages>
    mlflow-lint fix --diff --unsafe-fixes --select ALL --jobs 2 <site-packages>

and must report zero internal errors: no traceback, no "internal error" diagnostic (what
engine.fix_source reports when a fix breaks a file or does not converge), no crash. The exit
code must be the documented one: for `check --exit-zero`, 0, or 2 when some file could not be
checked; for `fix --diff`, 1 when something would change or findings remain, 2 on errors.

Which error diagnostics are acceptable: files that are not valid Python for this interpreter
(Python 2 files, templates and test data shipped inside packages) legitimately give "error:
SyntaxError: ...", and undecodable or binary files, unknown encodings, or code nested deeper
than the engine's bound, or a notebook that is not valid nbformat JSON, give their own
one-line diagnostic. Those are counted per kind and printed (run with `-s`), never failed on;
any other diagnostic fails the test. Only files that pass the prefilter (they contain
"mlflow" and a rule's call name) are ever decoded and parsed, so in practice only MLflow's own
files and the few others that mention it can produce any.

Discovery skips directories named in DEFAULT_EXCLUDE (`build`, `dist`, `site-packages`, ...)
*below* a path given on the command line, but not the path itself: passing the site-packages
directory works. It does skip package subdirectories named `build` (pip's
`pip/_internal/operations/build/`, for one); the sweep passes the files it skips by name
(explicitly named files are always checked), so every .py and .ipynb file is covered, and
asserts that the summary counts them all. The sweep uses a config file with an empty `[tool.mlflow-lint]`
table so that no pyproject.toml above site-packages (the project's own, when the virtual
environment lives in the checkout as in .ci/run) changes the rules or the exclusions.

`fix --diff` must write nothing: every checked file's size, mtime and inode are compared
before and after, and no temporary file of the atomic writer may be left behind.

Finally, in-process, every .py file the prefilter lets through (the only ones any fix can
touch: a few hundred, of which `fix --diff` changes a handful in a typical environment) is
fixed with unsafe fixes through `mutations.fix_and_verify`: the fixed bytes parse with this
interpreter's ast (and libcst), and fixing them again changes nothing.
"""

from __future__ import annotations

import os
import re
import resource
import sys
import sysconfig
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_cli
from mutations import fix_and_verify

from mlflow_lint import elision, engine
from mlflow_lint.config import build_settings
from mlflow_lint.runner import SOURCE_SUFFIXES, discover
from mlflow_lint.sourcefile import SourceError, decode, read_bytes

pytestmark = pytest.mark.slow

JOBS = "2"
ERROR_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<message>.*)$")
FINDING_LINE = re.compile(r"^(?P<path>.+?):\d+:\d+: (?P<code>MLF\d+) ")
WOULD_FIX_LINE = re.compile(r"Would fix (?P<fixes>\d+) findings? in (?P<files>\d+) files?")
CHECKED_LINE = re.compile(r"^(?P<seen>\d+) files? checked, (?P<parsed>\d+) parsed")
# Diagnostics for files that are not (this interpreter's) Python, or not text.
ACCEPTABLE = (
    "SyntaxError: ",
    "cannot decode as ",
    "file contains NUL bytes",
    "invalid encoding declaration",
    "unknown encoding",
    "too deeply nested",
    "expression too deeply nested",
    "libcst cannot parse this file",
    "cannot parse: ",
    "cannot read: ",
    "not a regular file",
    "not a valid notebook",
)
UNSAFE = build_settings(None, select=["ALL"], unsafe_fixes=True)
IN_PROCESS_LIMIT = 400


def site_packages() -> list[str]:
    paths = sysconfig.get_paths()
    roots: list[str] = []
    for key in ("purelib", "platlib"):
        root = os.path.realpath(paths[key])
        if os.path.isdir(root) and root not in roots:
            roots.append(root)
    return roots


def source_files(roots: list[str]) -> list[str]:
    """Every file under `roots` that discovery looks for (*.py, and *.ipynb since notebooks
    are supported), spelled as discovery spells them, without any exclusion."""
    found: set[str] = set()
    for root in roots:
        for directory, _, names in os.walk(root):
            found.update(
                os.path.normpath(os.path.join(directory, n))
                for n in names
                if n.endswith(SOURCE_SUFFIXES)
            )
    return sorted(found)


def snapshot(files: list[str]) -> dict[str, tuple[int, int, int]]:
    state = {}
    for path in files:
        try:
            info = os.lstat(path)
        except OSError:
            continue
        state[path] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return state


def leftover_temp_files(roots: list[str]) -> list[str]:
    return [
        os.path.join(directory, name)
        for root in roots
        for directory, _, names in os.walk(root)
        for name in names
        if name.startswith(".mlflow-lint-") and name.endswith(".tmp")
    ]


@dataclass
class Run:
    returncode: int
    seconds: float
    cpu: float  # user + system time of the command and its worker processes
    errors: list[tuple[str, str]]  # (path, message)
    findings: Counter[str]
    finding_files: set[str]
    diffs: list[str]  # paths with a diff
    stdout: str
    stderr: str


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(*args: str) -> Run:
    start, cpu = time.monotonic(), children_cpu()
    result = run_cli(*args)
    seconds, cpu = time.monotonic() - start, children_cpu() - cpu
    errors, findings, files, diffs = [], Counter[str](), set(), []
    for line in report_lines(result.stdout):
        if line.startswith("--- a/"):
            path = line[len("--- a/") :]
            diffs.append(re.sub(r":cell \d+$", "", path))  # a notebook's diff is per cell
            continue
        error = ERROR_LINE.match(line)
        if error:
            errors.append((error["path"], error["message"]))
            continue
        finding = FINDING_LINE.match(line)
        if finding:
            findings[finding["code"]] += 1
            files.add(finding["path"])
    return Run(
        result.returncode,
        seconds,
        cpu,
        errors,
        findings,
        files,
        diffs,
        result.stdout,
        result.stderr,
    )


def report_lines(stdout: str) -> list[str]:
    """The output without the diffs' content lines (source text: it may say anything), but
    with the `--- a/<path>` header of each diff."""
    return [
        line
        for line in stdout.splitlines()
        if line.startswith("--- a/") or not line.startswith((" ", "+", "-", "@@"))
    ]


def error_kind(message: str) -> str:
    for prefix in ACCEPTABLE:
        if message.startswith(prefix):
            return prefix.rstrip(": ")
    return message


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    roots = site_packages()
    files = source_files(roots)
    assert len(files) > 1000, f"site-packages looks empty: {roots}"
    config = tmp_path_factory.mktemp("sweep") / "pyproject.toml"
    config.write_text("[tool.mlflow-lint]\n")
    settings = build_settings(config)
    discovered, listing_errors = discover(roots, settings)
    assert not listing_errors
    skipped = sorted(set(files) - set(discovered))  # below an excluded directory name
    assert set(discovered) <= set(files)
    paths = [*roots, *skipped]
    common = ["--select", "ALL", "--jobs", JOBS, "--config", str(config)]
    before = snapshot(files)
    check = run("check", "--exit-zero", "--statistics", *common, *paths)
    fix = run("fix", "--diff", "--unsafe-fixes", *common, *paths)
    after = snapshot(files)
    return {
        "roots": roots,
        "files": files,
        "skipped": skipped,
        "check": check,
        "fix": fix,
        "before": before,
        "after": after,
    }


def report(name: str, result: Run) -> None:
    kinds = Counter(error_kind(message) for _, message in result.errors)
    print(
        f"\n{name}: exit {result.returncode} in {result.seconds:.1f}s ({result.cpu:.1f}s CPU), "
        f"{sum(result.findings.values())} findings in {len(result.finding_files)} files "
        f"{dict(sorted(result.findings.items()))}, {len(result.errors)} error diagnostics "
        f"{dict(kinds)}, {len(result.diffs)} diffs"
    )
    for path, message in result.errors:
        print(f"  {path}: {message}")
    for path in result.diffs:
        print(f"  diff: {path}")


def assert_no_internal_errors(result: Run) -> None:
    output = "\n".join(report_lines(result.stdout)) + result.stderr
    assert "Traceback" not in output, output[-5000:]
    internal = [(p, m) for p, m in result.errors if "internal error" in m]
    assert not internal, internal
    unexpected = [(p, m) for p, m in result.errors if not m.startswith(ACCEPTABLE)]
    assert not unexpected, unexpected
    assert not result.stderr.strip(), result.stderr[-5000:]


def test_check_every_installed_file(sweep: dict[str, object]) -> None:
    check = sweep["check"]
    files = sweep["files"]
    assert isinstance(check, Run) and isinstance(files, list)
    report("check", check)
    print(f"  skipped by discovery and passed by name: {sweep['skipped']}")
    assert_no_internal_errors(check)
    counts = [CHECKED_LINE.match(line) for line in check.stdout.splitlines()]
    found = [m for m in counts if m]
    assert found, check.stdout[-2000:]
    seen, parsed = int(found[0]["seen"]), int(found[0]["parsed"])
    print(f"  {seen} files checked, {parsed} parsed")
    assert seen == len(files), "every .py and .ipynb file in site-packages must be checked"
    assert check.returncode == (2 if check.errors else 0), check.stdout[-2000:]


def test_fix_diff_every_installed_file_writes_nothing(sweep: dict[str, object]) -> None:
    fix = sweep["fix"]
    roots = sweep["roots"]
    assert isinstance(fix, Run) and isinstance(roots, list)
    report("fix --diff --unsafe-fixes", fix)
    assert_no_internal_errors(fix)
    assert sweep["before"] == sweep["after"], "fix --diff wrote to site-packages"
    assert not leftover_temp_files(roots)
    expected = 2 if fix.errors else 1 if (fix.findings or fix.diffs) else 0
    assert fix.returncode == expected, fix.stdout[-2000:]
    check = sweep["check"]
    assert isinstance(check, Run)
    assert set(fix.diffs) <= check.finding_files, "a diff of a file check found nothing in"
    would_fix = WOULD_FIX_LINE.search(fix.stdout)
    if would_fix:  # the dry-run summary counts the files the diffs show
        assert int(would_fix["files"]) == len(set(fix.diffs)), would_fix.group()


def prefiltered(files: list[str]) -> dict[str, bytes]:
    """The .py files among `files` that the prefilter lets through (every rule), with their
    bytes: the only ones any rule can analyse."""
    rules = UNSAFE.rules_for("x.py")
    found: dict[str, bytes] = {}
    for path in files:
        if not path.endswith(".py"):
            continue
        try:
            data = read_bytes(path)
        except SourceError:
            continue
        if engine.may_hold_findings(data, rules):
            found[path] = data
    return found


def test_fixes_of_prefiltered_files_parse_and_are_idempotent(sweep: dict[str, object]) -> None:
    """In-process, with unsafe fixes, on every .py file the prefilter lets through (at most
    IN_PROCESS_LIMIT of them, evenly spread, and always every file `fix --diff` changed):
    the fixed bytes parse with this interpreter's ast (and libcst), and fixing them again
    changes nothing."""
    files = sweep["files"]
    fix = sweep["fix"]
    assert isinstance(files, list) and isinstance(fix, Run)
    candidates = prefiltered(files)
    py_diffs = [p for p in fix.diffs if p.endswith(".py")]
    assert set(py_diffs) <= set(candidates)
    chosen = list(candidates)[:: max(1, -(-len(candidates) // IN_PROCESS_LIMIT))]
    chosen = sorted({*chosen, *py_diffs})
    start = time.process_time()
    changed, failures = 0, []
    for path in chosen:
        try:
            changed += fix_and_verify(candidates[path], UNSAFE) is not None
        except AssertionError as error:  # collect all, then fail with every file named
            failures.append(f"{path}: {error}")
    print(
        f"\nin-process: {len(candidates)} .py files pass the prefilter, {len(chosen)} fixed "
        f"with unsafe fixes ({changed} changed) in {time.process_time() - start:.1f}s CPU "
        f"(python {sys.version.split()[0]})"
    )
    assert not failures, "\n".join(failures)


def test_elision_changes_no_result_on_installed_files(sweep: dict[str, object]) -> None:
    """Every installed .py file the prefilter lets through (MLflow's own package among them:
    big modules where most definitions cannot matter) gives the same violations, positions
    and fixes with elision as with the whole file parsed (#8), and elision does elide."""
    files = sweep["files"]
    assert isinstance(files, list)
    rules = UNSAFE.rules_for("x.py")
    compared = stubbed = 0
    failures = []
    for path, data in prefiltered(files).items():
        try:
            text = decode(data).text
            whole = engine.analyze(text, path, rules, UNSAFE, elide=False)
        except SourceError:
            continue  # not Python this interpreter and libcst both parse
        elided = engine.analyze(text, path, rules, UNSAFE, elide=True)
        compared += 1
        checked = engine.gate(text)
        words = engine._context_words(tuple(rules))
        stubbed += elision.plan(checked.tree, checked.imports, text, words) is not None
        if elided != whole:
            failures.append(f"{path}: {len(whole)} findings whole, {len(elided)} elided")
    print(f"\nelision: {compared} files compared, {stubbed} with stubs")
    assert compared > 50 and stubbed > 20
    assert not failures, "\n".join(failures)


def test_site_packages_itself_is_walked(sweep: dict[str, object]) -> None:
    """A directory named `site-packages` is excluded from discovery below a given path, but
    the path given is itself walked (the excluded names apply to subdirectories only)."""
    roots = sweep["roots"]
    assert isinstance(roots, list)
    assert any(Path(root).name == "site-packages" for root in roots)
    discovered, _ = discover(roots, build_settings(None))
    assert len(discovered) > 1000
