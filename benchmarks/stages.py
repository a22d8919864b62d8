"""Where mlflow-lint's time goes on the corpus: the engine's stages, timed in one process.

    python benchmarks/stages.py [DIR] [--cprofile N]    (default DIR: benchmarks/.corpus/big)

Runs `engine.check_file` on every file of DIR, serially and in-process (no CLI, no process
pool, no cache), with a thin timing wrapper around each stage function (read, prefilter,
ast.parse, libcst.parse_module, the rules' walk, positions, ...): exact times, unlike
cProfile, which inflates pure-Python code (the walk) against native code (libcst's parser).
Stages nest (analyze contains the parse and the walk); each line says what it includes. Stages
the engine does not have (any more) are left out, so this survives refactors of the engine.
With --cprofile N it then profiles the same loop and prints the top N functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlflow_lint import engine
from mlflow_lint.config import build_settings, find_config
from mlflow_lint.runner import discover

DEFAULT = Path(__file__).resolve().parent / ".corpus" / "big"

# (label, "module[.Class]", attribute): patched where the engine looks them up at call time.
STAGES = [
    ("check_file (everything below)", "mlflow_lint.engine", "check_file"),
    ("  read the file", "mlflow_lint.engine", "read_bytes"),
    ("  settings.rules_for", "mlflow_lint.config.Settings", "rules_for"),
    ("  byte prefilter (may_hold_findings)", "mlflow_lint.engine", "may_hold_findings"),
    ("  decode", "mlflow_lint.engine", "decode"),
    ("  analyze (everything below)", "mlflow_lint.engine", "analyze"),
    ("    applicable_rules (trigger words)", "mlflow_lint.engine", "applicable_rules"),
    ("    ast gate (incl. ast.parse)", "mlflow_lint.engine", "gate"),
    ("      ast.parse (also literal_eval's, from rules)", "ast", "parse"),
    ("    elision plan", "mlflow_lint.elision", "plan"),
    ("    libcst.parse_module", "libcst", "parse_module"),
    ("    FileContext (resolver setup)", "mlflow_lint.context.FileContext", "__init__"),
    ("    walk of the rules (FileContext.walk)", "mlflow_lint.context.FileContext", "walk"),
    ("    positions (Locator.locate)", "mlflow_lint.positions.Locator", "locate"),
]


def resolve_owner(dotted: str) -> Any:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            owner = getattr(owner, name)
        return owner
    raise ImportError(dotted)


def instrument() -> dict[str, list[float]]:
    """Wrap every stage that exists; returns label -> [seconds, calls]."""
    totals: dict[str, list[float]] = {}
    for label, owner_name, attribute in STAGES:
        try:
            owner = resolve_owner(owner_name)
        except (ImportError, AttributeError):
            continue
        original = owner.__dict__.get(attribute) if isinstance(owner, type) else None
        original = original or getattr(owner, attribute, None)
        if original is None:
            continue
        slot = totals.setdefault(label, [0.0, 0])

        def timed(
            *args: Any, __f: Callable[..., Any] = original, __s: list[float] = slot, **kw: Any
        ) -> Any:
            start = time.process_time()
            try:
                return __f(*args, **kw)
            finally:
                __s[0] += time.process_time() - start
                __s[1] += 1

        setattr(owner, attribute, timed)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    root: Path = args.root
    settings = build_settings(find_config(str(root)))
    files, _ = discover([str(root)], settings)

    totals = instrument()
    start = time.process_time()
    results = [engine.check_file(path, settings) for path in files]
    total = time.process_time() - start
    findings = sum(len(r.violations) for r in results)
    print(
        f"{len(files)} files, {sum(r.parsed for r in results)} past the byte prefilter, "
        f"{findings} findings, {sum(r.error is not None for r in results)} file errors; "
        f"{total:.2f} s in check_file (serial, in-process, no cache, plus the wrappers' cost)"
    )
    print(f"{'stage':52s} {'seconds':>8s} {'share':>6s} {'calls':>7s}")
    for label, _, _ in STAGES:
        if label in totals:
            seconds, calls = totals[label]
            print(f"{label:52s} {seconds:8.2f} {seconds / total:6.1%} {int(calls):7d}")

    if args.cprofile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [engine.check_file(path, settings) for path in files])
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.cprofile)
        print(out.getvalue())


if __name__ == "__main__":
    sys.exit(main())
