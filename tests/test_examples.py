"""Every rules/<CODE>/ folder: its examples produce exactly the findings in expected.txt, its
fixed examples are what `fix` writes, and fixing is idempotent and re-parses."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from conftest import RULES_DIR, run_cli

from mlflow_lint import engine
from mlflow_lint.config import build_settings
from mlflow_lint.rule import Safety
from mlflow_lint.rules import RULES_BY_CODE

FOLDERS = sorted(p for p in RULES_DIR.iterdir() if p.is_dir() and p.name.startswith("MLF"))
SETTINGS = build_settings(None, select=["ALL"])


def expected(folder: Path) -> list[str]:
    text = (folder / "expected.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.endswith(".fixed.py"))


def findings(folder: Path, settings=SETTINGS) -> list[str]:
    found = []
    for path in sorted(folder.glob("*.py")):
        result = engine.check_file(str(path), settings)
        assert result.error is None, f"{path.name}: {result.error}"
        found += [f"{path.name}:{v.line}:{v.column + 1}: {v.code}" for v in result.violations]
    return found


def test_every_rule_has_an_examples_folder() -> None:
    assert sorted(RULES_BY_CODE) == [f.name for f in FOLDERS]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_examples_give_exactly_the_expected_findings(folder: Path) -> None:
    names = {p.name for p in sources(folder)}
    assert any(n.startswith("flagged") for n in names) and any(n.startswith("clean") for n in names)
    assert findings(folder) == expected(folder)
    own = [line for line in expected(folder) if line.endswith(folder.name)]
    assert own, "the flagged examples must trigger the folder's own rule"
    assert not any(line.startswith("clean") and line.endswith(folder.name) for line in own)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_fixed_examples(folder: Path) -> None:
    """`<name>.fixed.py` is what fixing the folder's own rule writes (with --unsafe-fixes when
    the rule's fix is unsafe)."""
    rule = RULES_BY_CODE[folder.name]
    unsafe = rule.fix_safety is Safety.UNSAFE
    settings = build_settings(None, select=[folder.name], unsafe_fixes=unsafe)
    for path in sources(folder):
        data = path.read_bytes()
        result, new = engine.fix_source(data, path.name, settings)
        assert result.error is None, f"{path.name}: {result.error}"
        fixed_path = path.with_name(path.stem + ".fixed.py")
        if rule.fix_safety is not None and path.name.startswith("flagged"):
            assert fixed_path.exists(), f"{fixed_path.name} is missing"
        if fixed_path.exists():
            assert new is not None, f"{path.name}: expected a fix"
            assert new.decode() == fixed_path.read_text(), f"{path.name} fixed differs"
            cst.parse_module(new.decode())
            again, newer = engine.fix_source(new, path.name, settings)
            assert newer is None, f"{path.name}: fixing is not idempotent"
            assert not [v for v in again.violations if engine.applicable(v, unsafe)]
        elif path.name.startswith("clean"):
            assert new is None, f"{path.name}: a clean example must not be rewritten"
        # a safe rule whose fix is unsafe for some of the example: what --unsafe-fixes writes
        unsafe_path = path.with_name(path.stem + ".unsafe.fixed.py")
        if unsafe_path.exists():
            assert not unsafe, f"{unsafe_path.name}: the rule's fixes are all unsafe"
            every = build_settings(None, select=[folder.name], unsafe_fixes=True)
            result, new = engine.fix_source(data, path.name, every)
            assert result.error is None and new is not None, f"{path.name}: expected a fix"
            assert new.decode() == unsafe_path.read_text(), f"{path.name} unsafe-fixed differs"
            assert new.decode() != fixed_path.read_text(), f"{unsafe_path.name} adds nothing"
            again, newer = engine.fix_source(new, path.name, every)
            assert newer is None, f"{path.name}: fixing with unsafe fixes is not idempotent"


def test_cli_on_the_whole_examples_tree() -> None:
    # --no-force-exclude: this repository's configuration keeps the fixtures (rules/) away
    result = run_cli(
        "check", "--no-force-exclude", "--select", "ALL", "--jobs", "2", str(RULES_DIR)
    )
    got = [
        line.split(" ")[0] + " " + line.split(" ")[1]
        for line in result.stdout.splitlines()
        if ": MLF" in line
    ]
    want = [
        f"{RULES_DIR / folder.name / entry.split(':', 1)[0]}:{entry.split(':', 1)[1]}"
        for folder in FOLDERS
        for entry in expected(folder)
    ]
    assert got == want
