"""Elision changes no result: every file of DIR that the prefilter lets through is analysed
with elision and with the whole file parsed, every rule on, unsafe fixes on; the violations,
positions and fix edits must be equal (#8).

    python benchmarks/elision_check.py [DIR]    (default: benchmarks/.corpus/big)

Prints one line per difference and a summary; exits 1 on any difference.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mlflow_lint import engine
from mlflow_lint.config import build_settings
from mlflow_lint.runner import discover
from mlflow_lint.sourcefile import SourceError, decode, read_bytes

DEFAULT = Path(__file__).resolve().parent / ".corpus" / "big"


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT)
    settings = build_settings(None, select=["ALL"], unsafe_fixes=True)
    files, _ = discover([root], settings)
    compared = differ = 0
    spent = {True: 0.0, False: 0.0}
    for path in files:
        try:
            data = read_bytes(path)
            rules = settings.rules_for(path)
            if path.endswith(".ipynb") or not engine.may_hold_findings(data, rules):
                continue
            text = decode(data).text
        except SourceError:
            continue
        results = {}
        for elide in (False, True):
            start = time.perf_counter()
            try:
                results[elide] = engine.analyze(text, path, rules, settings, elide=elide)
            except SourceError as error:
                results[elide] = [error.message]  # type: ignore[list-item]
            spent[elide] += time.perf_counter() - start
        compared += 1
        if results[True] != results[False]:
            differ += 1
            print(f"{path}: {len(results[False])} whole-file results, {len(results[True])} elided")
    print(
        f"{compared} files compared, {differ} differ; analysis {spent[False]:.1f} s whole-file, "
        f"{spent[True]:.1f} s elided"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
