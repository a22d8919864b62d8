from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import pytest
from hypothesis import settings

from mlflow_lint import engine
from mlflow_lint.config import build_settings

# The property and mutation tests explore new programs on every local run. CI (.ci/run sets
# HYPOTHESIS_PROFILE=ci) replays the same ones: a submission must not fail on the luck of the
# draw; the bugs the fuzzers find locally go into test_regressions.py.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "rules"
MLFLOW_LINT = Path(sys.executable).parent / "mlflow-lint"


def run_cli(
    *args: str,
    cwd: Optional[Path] = None,
    input: Optional[bytes] = None,
    env: Optional[dict[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed `mlflow-lint` command."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PRE_COMMIT", None)
    result = subprocess.run(
        [str(MLFLOW_LINT), *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env=full_env,
        timeout=600,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def lint(
    source: str, select: Optional[Sequence[str]] = ("ALL",), path: str = "example.py"
) -> list[tuple[int, int, str]]:
    """(line, 1-based column, code) of every finding in `source`, in-process."""
    settings = build_settings(None, select=list(select) if select else None)
    text = textwrap.dedent(source)
    violations = engine.analyze(text, path, settings.rules_for(path), settings)
    return [(v.line, v.column + 1, v.code) for v in violations]


def lines_flagged(source: str, code: str) -> list[int]:
    return [line for line, _, c in lint(source) if c == code]


@pytest.fixture
def cli():
    return run_cli
