"""Where mlflow-lint's time goes: each stage of the engine timed separately, in one process.

    python benchmarks/stages.py [DIR]        (default: benchmarks/.corpus/big)

Replays the engine's data path for every file, serially, without the CLI: read, prefilter,
decode, then for the files that pass the prefilter ast.parse, the ast depth bound,
libcst.parse_module, and the rest of engine.analyze (the walk of all rules, plus positions and
noqa for files with findings). Parsing is therefore done twice for those files (once per stage
here, once inside analyze, which is timed as a whole and reported minus the parse), which is
fine for proportions. Uses the engine's internals (`_ast_depth`); adapt when they change.
"""

from __future__ import annotations

import ast
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import libcst as cst

from mlflow_lint import engine
from mlflow_lint.config import build_settings
from mlflow_lint.sourcefile import SourceError, decode

DEFAULT = Path(__file__).resolve().parent / ".corpus" / "big"


def main(root: Path) -> None:
    settings = build_settings(None)
    spent: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    clock = time.perf_counter
    paths = sorted(
        os.path.join(d, n) for d, _, names in os.walk(root) for n in names if n.endswith(".py")
    )
    biggest: list[tuple[float, str]] = []
    start_all = clock()
    for path in paths:
        t = clock()
        with open(path, "rb") as handle:
            data = handle.read()
        spent["read"] += clock() - t
        t = clock()
        rules = settings.rules_for(path)
        keep = engine.may_hold_findings(data, rules)
        spent["prefilter (rules_for + may_hold_findings)"] += clock() - t
        counts["files"] += 1
        if not keep:
            continue
        counts["parsed"] += 1
        t = clock()
        try:
            text = decode(data).text
        except SourceError:
            counts["undecodable"] += 1
            continue
        spent["decode"] += clock() - t
        t = clock()
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            counts["ast errors"] += 1
            continue
        spent["ast.parse"] += clock() - t
        t = clock()
        engine._ast_depth(tree)
        spent["ast depth bound"] += clock() - t
        t = clock()
        try:
            cst.parse_module(text)
        except Exception:
            counts["libcst errors"] += 1
            continue
        parse_time = clock() - t
        spent["libcst.parse_module"] += parse_time
        t = clock()
        try:
            violations = engine.analyze(text, path, rules, settings)
        except SourceError:
            counts["analyze errors"] += 1
            continue
        whole = clock() - t
        spent["analyze (whole, includes its own parse)"] += whole
        counts["findings"] += len(violations)
        counts["files with findings"] += bool(violations)
        biggest.append((whole, path))
    total = clock() - start_all
    parse = (
        spent["ast.parse"] + spent["ast depth bound"] + spent["libcst.parse_module"]
    )  # what engine.parse does
    walk = spent["analyze (whole, includes its own parse)"] - parse
    print(f"{counts['files']} files, {counts['parsed']} pass the prefilter, ", end="")
    print(f"{counts['findings']} findings in {counts['files with findings']} files")
    print(f"{'stage':45s} {'seconds':>8s} {'share':>6s}")
    real = total - spent["analyze (whole, includes its own parse)"] + walk
    rows = [
        ("read", spent["read"]),
        (
            "prefilter (rules_for + may_hold_findings)",
            spent["prefilter (rules_for + may_hold_findings)"],
        ),
        ("decode", spent["decode"]),
        ("ast.parse", spent["ast.parse"]),
        ("ast depth bound", spent["ast depth bound"]),
        ("libcst.parse_module", spent["libcst.parse_module"]),
        ("walk of all rules + positions + noqa", walk),
    ]
    for name, seconds in rows:
        print(f"{name:45s} {seconds:8.2f} {seconds / real:6.1%}")
    print(f"{'total (one parse per file, as the engine does)':45s} {real:8.2f}")
    for key in ("undecodable", "ast errors", "libcst errors", "analyze errors"):
        if counts[key]:
            print(f"{key}: {counts[key]}")
    print("slowest files in analyze:")
    for seconds, path in sorted(biggest, reverse=True)[:8]:
        print(f"  {seconds:6.2f} s  {os.path.relpath(path, root)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
