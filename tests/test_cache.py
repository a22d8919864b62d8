"""The cache stores a result compactly and gives back exactly what was stored: every field of
every finding, fix, edit and error; an entry grows with findings, not with the source."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow_lint import cache, engine
from mlflow_lint.config import build_settings
from mlflow_lint.engine import FileError, FileResult
from mlflow_lint.rule import Edit, Fix, Safety, Violation

ROOT = Path(__file__).resolve().parent.parent


def _roundtrip(result: FileResult) -> FileResult:
    stored = json.loads(json.dumps(cache._result_to_json(result)))
    return cache._result_from_json(stored, result.path)


def test_every_field_survives() -> None:
    fix = Fix(
        "Merge into one `log_params` call",
        Safety.UNSAFE,
        (
            Edit(10, 42, 'mlflow.log_params({"a": 1,\n    "b": 2})', 3, 4, 4, 12),
            Edit(0, 0, "import mlflow\n", 1, 0, 1, 0, cell=2),
        ),
    )
    violations = [
        Violation("MLF103", "consecutive-log-param", "two calls", 3, 4, 4, 12, fix, help="Do X"),
        Violation("MLF101", "metric-in-loop", "in a loop", 3, 8, 3, 30),  # same line
        Violation("MLF101", "metric-in-loop", "in a loop", 1, 0, 9, 1, cell=3),  # notebook cell
        Violation("MLF302", "run-not-context-managed", "é ünïcode ✓", 120_000, 0, 120_002, 5),
    ]
    result = FileResult("x.py", violations, parsed=True)
    assert _roundtrip(result) == result
    errored = FileResult("y.py", [], FileError("SyntaxError: bad", 3, 7, cell=2), parsed=True)
    assert _roundtrip(errored) == errored


def test_real_results_survive_and_texts_are_stored_once() -> None:
    settings = build_settings(None, select=["ALL"], unsafe_fixes=True)
    compared = 0
    for path in sorted((ROOT / "rules").glob("MLF*/flagged.py")):
        result = engine.check_file(str(path), settings)
        assert _roundtrip(result) == result, path
        compared += bool(result.violations)
    assert compared >= 15
    many = FileResult("z.py", [Violation("MLF101", "n", "m", i, 0, i, 5) for i in range(1, 500)])
    stored = cache._result_to_json(many)
    assert stored["strings"] == ["MLF101", "n", "m", ""]
    # a finding costs a few numbers, not its texts
    assert len(json.dumps(stored["violations"], separators=(",", ":"))) < 500 * 20


def test_entries_round_trip_through_the_cache(tmp_path: Path) -> None:
    source = (ROOT / "rules" / "MLF102" / "flagged.py").read_bytes()
    target = tmp_path / "t.py"
    target.write_bytes(source)
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.mlflow-lint]\n")
    settings = build_settings(config, select=["ALL"], unsafe_fixes=True)
    fresh = cache.check_file(str(target), settings)  # analysed and stored
    assert fresh.violations
    entries = [p for p in (tmp_path / cache.DIRECTORY).rglob("*") if p.is_file()]
    assert len([p for p in entries if p.name != ".gitignore"]) == 1
    again = cache.check_file(str(target), settings)  # served from the entry
    assert again == fresh
