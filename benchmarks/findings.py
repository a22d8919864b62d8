"""Findings of an mlflow-lint executable on real code: counts per rule, diffs, samples to judge.

    python benchmarks/findings.py run EXE -o OUT            # OUT.json + OUT.md (count tables)
    python benchmarks/findings.py diff OLD.json NEW.json [-o DIFF.md]
    python benchmarks/findings.py sample RUN.json -n 150 --seed 1 -o SAMPLE.md [--csv SAMPLE.csv]

`run` checks each corpus twice, with the default rules and with `--select ALL`, as
`EXE check --format json --no-cache --exit-zero --config <empty pyproject.toml> FILES...`. The
files are named one by one (so the default `exclude` of build/, dist/, site-packages/ hides
nothing) and the empty configuration keeps any pyproject.toml above them out. Corpora (each
NAME=PATH, `--corpus` replaces them):

- dense: /work/corpus/bench/dense (the benchmark corpus's files that mention mlflow);
- pypi:  /work/corpus/pypi (benchmarks/real_code.py);
- site:  the installed packages' `.py` files that mention mlflow (any case), in the site-packages
  of the Python running this script (`--site` to choose another), except the test-suite tools'
  own files (TEST_TOOLS below: pytest, hypothesis, flake8, pre-commit, mypy, ruff, coverage,
  mlflow-lint itself...).

Every finding is stored with its source line's text, so `diff` matches findings by
(rule set, corpus, file, code, line text) and survives lines moving. `sample` draws a seeded
random sample stratified by rule (every rule at least `--floor`, the rest in proportion
to the counts) and writes each finding with ~8 lines of code around it, for judging.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import random
import subprocess
import sys
import sysconfig
import tempfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RULESETS = {"default": [], "all": ["--select", "ALL"]}
DEFAULT_CORPORA = {"dense": Path("/work/corpus/bench/dense"), "pypi": Path("/work/corpus/pypi")}
# Top-level entries of site-packages that belong to the test suite's tools, not to code that
# uses MLflow (fnmatch patterns).
TEST_TOOLS = (
    "_pytest",
    "pytest",
    "pytest_*",
    "py",
    "pluggy",
    "xdist",
    "hypothesis",
    "_hypothesis_*",
    "flake8",
    "pyflakes",
    "pycodestyle",
    "mccabe",
    "pre_commit",
    "mypy",
    "mypyc",
    "ruff",
    "coverage",
    "mlflow_lint",
    "__editable__*mlflow_lint*",
)
CONTEXT = 8


@dataclass
class Finding:
    ruleset: str
    corpus: str
    path: str  # relative to the corpus root
    code: str
    line: int
    column: int
    cell: int | None
    message: str
    help: str | None
    fix_safety: str | None
    line_text: str

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.ruleset, self.corpus, self.path, self.code, self.line_text)


@dataclass
class Run:
    executable: str
    version: str
    label: str
    corpora: dict[str, str]
    files: dict[str, int]
    site_excluded: list[str] = field(default_factory=list)
    errors: dict[str, dict[str, int]] = field(default_factory=dict)  # ruleset -> corpus -> n
    error_messages: list[str] = field(default_factory=list)  # "corpus/path: message", default rules
    findings: list[Finding] = field(default_factory=list)


def mentions_mlflow(path: Path) -> bool:
    try:
        return b"mlflow" in path.read_bytes().lower()
    except OSError:
        return False


def corpus_files(root: Path, suffixes: tuple[str, ...] = (".py", ".ipynb")) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix in suffixes
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def site_files(site: Path) -> tuple[list[Path], list[str]]:
    """The site-packages `.py` files that mention mlflow, and the test tools' entries left out."""
    kept: list[Path] = []
    excluded: set[str] = set()
    for path in corpus_files(site, (".py",)):
        top = path.relative_to(site).parts[0]
        if not mentions_mlflow(path):
            continue
        if any(fnmatch.fnmatch(top, pattern) for pattern in TEST_TOOLS):
            excluded.add(top)
            continue
        kept.append(path)
    return kept, sorted(excluded)


def source_line(path: Path, line: int, cell: int | None) -> str:
    lines = source_lines(path, cell)
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def source_lines(path: Path, cell: int | None) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if cell is None:
        return text.splitlines()
    try:
        source = json.loads(text)["cells"][cell - 1]["source"]
    except (ValueError, KeyError, IndexError, TypeError):
        return []
    return ("".join(source) if isinstance(source, list) else str(source)).splitlines()


def lint(executable: str, ruleset: str, files: list[Path], jobs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "pyproject.toml"
        config.write_text('[project]\nname = "corpus"\n')
        command = [executable, "check", *RULESETS[ruleset], "--format", "json", "--no-cache"]
        command += ["--exit-zero", "--config", str(config), "-j", str(jobs)]
        command += [str(path) for path in files]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    # Exit 2 also means some files could not be checked (syntax errors...): they are reported
    # in the JSON as errors, and the rest was checked.
    if result.returncode not in (0, 2) or not result.stdout.startswith("{"):
        raise SystemExit(f"{executable} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def run(args: argparse.Namespace) -> int:
    corpora: dict[str, Path] = dict(DEFAULT_CORPORA)
    if args.corpus:
        corpora = {}
        for spec in args.corpus:
            name, _, path = spec.partition("=")
            corpora[name] = Path(path)
    files = {name: corpus_files(root) for name, root in corpora.items()}
    excluded: list[str] = []
    if not args.no_site:
        site = Path(args.site or sysconfig.get_paths()["purelib"])
        corpora["site"] = site
        files["site"], excluded = site_files(site)
    version = subprocess.run(
        [args.executable, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    result = Run(
        executable=args.executable,
        version=version,
        label=args.label or "",
        corpora={name: str(root) for name, root in corpora.items()},
        files={name: len(paths) for name, paths in files.items()},
        site_excluded=excluded,
    )
    for ruleset in RULESETS:
        result.errors[ruleset] = {}
        for name, root in corpora.items():
            report = lint(args.executable, ruleset, files[name], args.jobs)
            errors = 0
            for item in report["findings"]:
                path = Path(item["path"])
                if item.get("kind") != "finding":
                    errors += 1
                    if ruleset == "default":
                        where = path.relative_to(root) if path.is_relative_to(root) else path
                        result.error_messages.append(f"{name}/{where}: {item['message']}")
                    continue
                result.findings.append(
                    Finding(
                        ruleset=ruleset,
                        corpus=name,
                        path=str(path.relative_to(root)),
                        code=item["code"],
                        line=item["line"],
                        column=item["column"],
                        cell=item.get("cell"),
                        message=item["message"],
                        help=item.get("help"),
                        fix_safety=item.get("fix_safety"),
                        line_text=source_line(path, item["line"], item.get("cell")),
                    )
                )
            result.errors[ruleset][name] = errors
            print(f"{ruleset:>7} {name:>6}: {len(report['findings'])} findings", file=sys.stderr)
    out = Path(args.output)
    out.with_suffix(".json").write_text(json.dumps(asdict(result), indent=1) + "\n")
    out.with_suffix(".md").write_text(count_tables(result))
    print(count_tables(result))
    return 0


def load(path: str) -> Run:
    data = json.loads(Path(path).read_text())
    findings = [Finding(**item) for item in data.pop("findings")]
    return Run(**data, findings=findings)


def counts(result: Run) -> dict[tuple[str, str], Counter[str]]:
    table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for finding in result.findings:
        table[(finding.ruleset, finding.corpus)][finding.code] += 1
    return table


def count_tables(result: Run) -> str:
    table = counts(result)
    corpora = list(result.corpora)
    lines = [f"# Findings per rule: {result.label or result.executable}", ""]
    lines.append(f"`{result.version}`, executable `{result.executable}`.")
    lines.append("")
    files = ", ".join(f"{name} {result.files[name]} ({result.corpora[name]})" for name in corpora)
    lines.append(f"Files checked: {files}.")
    if result.site_excluded:
        lines.append(f"Left out of site (test tools): {', '.join(result.site_excluded)}.")
    for ruleset in RULESETS:
        codes = sorted({code for (rs, _), c in table.items() if rs == ruleset for code in c})
        title = "default rules" if ruleset == "default" else "`--select ALL`"
        lines += ["", f"## {title}", ""]
        lines.append("| rule | " + " | ".join(corpora) + " | total |")
        lines.append("| --- |" + " ---: |" * (len(corpora) + 1))
        for code in codes:
            row = [table[(ruleset, name)][code] for name in corpora]
            lines.append(f"| {code} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
        totals = [sum(table[(ruleset, name)].values()) for name in corpora]
        lines.append("| **total** | " + " | ".join(map(str, totals)) + f" | {sum(totals)} |")
        errors = [result.errors.get(ruleset, {}).get(name, 0) for name in corpora]
        lines.append("| errors | " + " | ".join(map(str, errors)) + f" | {sum(errors)} |")
    if result.error_messages:
        lines += ["", "## Files not checked (errors, default rules)", ""]
        lines += [f"- {message}" for message in result.error_messages]
    return "\n".join(lines) + "\n"


def diff(args: argparse.Namespace) -> int:
    old, new = load(args.old), load(args.new)
    before = Counter(f.key for f in old.findings)
    after = Counter(f.key for f in new.findings)
    gone, came = before - after, after - before
    by_key = {f.key: f for f in [*old.findings, *new.findings]}
    lines = [f"# Diff: {old.label or old.version} -> {new.label or new.version}", ""]
    for ruleset in RULESETS:
        codes = sorted({key[3] for key in (before + after) if key[0] == ruleset})
        lines += [f"## {ruleset}", "", "| rule | before | after | disappeared | appeared |"]
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for code in codes:
            cells = [_total(c, ruleset, code) for c in (before, after, gone, came)]
            lines.append(f"| {code} | " + " | ".join(map(str, cells)) + " |")
        lines.append("")
    for title, counter in (("Disappeared", gone), ("Appeared", came)):
        lines += [f"## {title}", ""]
        for key in sorted(counter):
            finding = by_key[key]
            where = f"{finding.corpus}/{finding.path}:{finding.line}"
            times = f" (x{counter[key]})" if counter[key] > 1 else ""
            lines.append(f"- {key[0]} {finding.code} `{where}`{times}: `{finding.line_text}`")
        lines.append("")
    text = "\n".join(lines)
    if args.output:
        Path(args.output).write_text(text)
    print(text)
    return 0


def _total(counter: Counter[tuple[str, str, str, str, str]], ruleset: str, code: str) -> int:
    return sum(n for key, n in counter.items() if key[0] == ruleset and key[3] == code)


def allocate(sizes: dict[str, int], total: int, floor: int) -> dict[str, int]:
    """Per-rule sample sizes: at least `floor` (or all there are), the rest by share of count."""
    take = {code: min(n, floor) for code, n in sizes.items()}
    left = total - sum(take.values())
    pool = sum(n - take[code] for code, n in sizes.items())
    if left > 0 and pool > 0:
        shares = {code: (n - take[code]) * left / pool for code, n in sizes.items()}
        for code, share in shares.items():
            take[code] += int(share)
        order = sorted(shares, key=lambda c: shares[c] - int(shares[c]), reverse=True)
        for code in order[: total - sum(take.values())]:
            take[code] += 1
    return {code: min(n, sizes[code]) for code, n in take.items()}


def sample(args: argparse.Namespace) -> int:
    result = load(args.run)
    findings = [f for f in result.findings if f.ruleset == args.ruleset]
    if args.corpora:
        findings = [f for f in findings if f.corpus in args.corpora.split(",")]
    if args.unique:  # the same finding in another corpus (mlflow in dense and in site) once
        seen_in: dict[tuple[str, str, str], str] = {}  # -> the corpus it was first seen in
        kept = []
        for finding in findings:
            key = (finding.code, finding.line_text, Path(finding.path).name)
            if seen_in.setdefault(key, finding.corpus) == finding.corpus:
                kept.append(finding)
        findings = kept
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_code[finding.code].append(finding)
    sizes = allocate({code: len(items) for code, items in by_code.items()}, args.n, args.floor)
    rng = random.Random(args.seed)
    chosen: list[Finding] = []
    for code in sorted(by_code):
        chosen += rng.sample(by_code[code], sizes[code])
    lines = [
        f"# Sample of {len(chosen)} findings ({args.ruleset} rules, seed {args.seed})",
        "",
        f"From `{args.run}` ({result.label or result.version}).",
        "",
        "| rule | findings | sampled |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {code} | {len(by_code[code])} | {sizes[code]} |" for code in sorted(by_code)]
    rows = []
    for number, finding in enumerate(chosen, 1):
        ident = f"S{number:03d}"
        root = Path(result.corpora[finding.corpus])
        where = f"{finding.corpus}/{finding.path}:" + (
            f"cell {finding.cell}:" if finding.cell else ""
        )
        lines += ["", f"## {ident} {finding.code} `{where}{finding.line}`", ""]
        lines.append(f"> {finding.message}")
        if finding.help:
            lines.append(f"> help: {finding.help}")
        source = source_lines(root / finding.path, finding.cell)
        first = max(1, finding.line - CONTEXT)
        last = min(len(source), finding.line + CONTEXT)
        lines += ["", "```python"]
        for number_ in range(first, last + 1):
            mark = ">>" if number_ == finding.line else "  "
            lines.append(f"{mark}{number_:5d} {source[number_ - 1]}")
        lines += ["```", "", "verdict: ", "reason: "]
        rows.append(
            [ident, finding.code, finding.corpus, finding.path, finding.cell or "", finding.line]
        )
    Path(args.output).write_text("\n".join(lines) + "\n")
    if args.csv:
        with open(args.csv, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["id", "code", "corpus", "path", "cell", "line", "verdict", "reason"])
            writer.writerows([*row, "", ""] for row in rows)
    print(f"{len(chosen)} findings sampled into {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p_run = commands.add_parser("run", help="lint the corpora; write OUT.json and OUT.md")
    p_run.add_argument("executable", help="the mlflow-lint executable to measure")
    p_run.add_argument("-o", "--output", required=True, help="OUT (suffixes .json and .md)")
    p_run.add_argument("--label", help="a name for this run (e.g. the commit)")
    p_run.add_argument("--corpus", action="append", help="NAME=PATH (repeatable)")
    p_run.add_argument("--site", help="site-packages to take the files that mention mlflow from")
    p_run.add_argument("--no-site", action="store_true", help="skip the site-packages corpus")
    p_run.add_argument("-j", "--jobs", type=int, default=2)
    p_run.set_defaults(handler=run)
    p_diff = commands.add_parser("diff", help="what appeared and disappeared between two runs")
    p_diff.add_argument("old")
    p_diff.add_argument("new")
    p_diff.add_argument("-o", "--output")
    p_diff.set_defaults(handler=diff)
    p_sample = commands.add_parser("sample", help="a stratified random sample to judge")
    p_sample.add_argument("run")
    p_sample.add_argument("-n", type=int, default=150)
    p_sample.add_argument("--seed", type=int, default=1)
    p_sample.add_argument("--floor", type=int, default=4, help="minimum per rule (default 4)")
    p_sample.add_argument("--ruleset", choices=list(RULESETS), default="all")
    p_sample.add_argument("--corpora", help="comma-separated corpus names (default: all)")
    p_sample.add_argument(
        "--unique", action="store_true", help="count a finding repeated across corpora once"
    )
    p_sample.add_argument("-o", "--output", required=True)
    p_sample.add_argument("--csv")
    p_sample.set_defaults(handler=sample)
    args = parser.parse_args(argv)
    handler = args.handler
    code: int = handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
