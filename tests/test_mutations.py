"""Mutation fuzzing of the fix paths (issue #5, "never break code").

tests/mutations.py inserts MLflow logging snippets into programs (hypothesmith output, small
generated skeletons, the rules' examples, the end-to-end scripts and a sample of installed
packages' files, MLflow's own among them) and builds self-contained logging programs. On those:

* every mutant, both settings (all rules, safe fixes; all rules, unsafe fixes): check and fix
  never raise, report no internal error, the fixed code parses with libcst and ast, and fixing
  is idempotent (`mutations.fix_and_verify`);
* safe fixes keep the logging intents: every literal metric/param/tag key of the original is
  still in the fixed code, the multiset of string constants is unchanged (a safe fix only
  moves keys and values around), and so are the top-level statements that do not log;
* safe fixes keep the comments (a safe fix that would drop one is not made: see MLF102's
  `_joins`);
* safe fixes never change what gets logged: self-contained programs run before and after the
  safe fix against a recording stand-in for the `mlflow` module (`mutations.run_recorded`), and
  the metrics (run, key, value, step), params, final tags, artifacts, runs started and the
  exception the program ends with must be the same;
* unsafe fixes may change behaviour, but never so that the program stops running with a
  TypeError, AttributeError or ImportError (a fix that calls MLflow wrongly).
"""

from __future__ import annotations

from typing import Any, Optional

from hypothesis import HealthCheck, given, note, settings
from mutations import (
    Mutant,
    Program,
    comments,
    executable_programs,
    fix_and_verify,
    generated_bases,
    mutants,
    other_top_level_statements,
    real_bases,
    run_recorded,
    string_constants,
)

from mlflow_lint.config import Settings, build_settings

SAFE = build_settings(None, select=["ALL"])
UNSAFE = build_settings(None, select=["ALL"], unsafe_fixes=True)
CI = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def fixed(data: bytes, config: Settings) -> Optional[str]:
    text = fix_and_verify(data, config)
    if text is not None:
        note(f"fixed ({'unsafe' if config.unsafe_fixes else 'safe'}):\n{text}")
    return text


def verify_mutant(mutant: Mutant) -> None:
    note(f"mutant of {mutant.base}:\n{mutant.text}")
    compile(mutant.text, "<mutant>", "exec")  # the generator only makes valid programs
    fixed(mutant.data, UNSAFE)
    safe = fixed(mutant.data, SAFE)
    if safe is None:
        return
    constants = string_constants(safe)
    missing = sorted(key for key in mutant.keys if key not in constants)
    assert not missing, f"logged keys lost by a safe fix: {missing}"
    before = string_constants(mutant.text)
    assert before == constants, (before - constants, constants - before)
    assert other_top_level_statements(mutant.text) == other_top_level_statements(safe)


@settings(CI, max_examples=150)
@given(mutants(generated_bases()))
def test_mutants_of_generated_programs(mutant: Mutant) -> None:
    verify_mutant(mutant)


@settings(CI, max_examples=100)
@given(mutants(real_bases()))
def test_mutants_of_real_files(mutant: Mutant) -> None:
    verify_mutant(mutant)


@settings(CI, max_examples=150)
@given(mutants(generated_bases()))
def test_safe_fixes_keep_comments(mutant: Mutant) -> None:
    note(f"mutant:\n{mutant.text}")
    safe = fixed(mutant.data, SAFE)
    if safe is not None:
        before, after = comments(mutant.text), comments(safe)
        assert before == after, f"lost: {before - after}, added: {after - before}"


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


@settings(CI, max_examples=200)
@given(executable_programs())
def test_safe_fixes_never_change_what_is_logged(program: Program) -> None:
    note(f"program:\n{program.text}")
    safe = fixed(program.data, SAFE)
    if safe is None:
        return
    before, after = run_recorded(program.text), run_recorded(safe)
    note(f"original ended with {before['error']}, fixed with {after['error']}")
    assert before == after, differences(before, after)


@settings(CI, max_examples=150)
@given(executable_programs())
def test_unsafe_fixes_keep_programs_running(program: Program) -> None:
    note(f"program:\n{program.text}")
    unsafe = fixed(program.data, UNSAFE)
    if unsafe is None:
        return
    before, after = run_recorded(program.text), run_recorded(unsafe)
    if before["error"] is None and after["error"] is not None:
        kind = after["error"].split(":", 1)[0]
        assert kind not in ("TypeError", "AttributeError", "ImportError"), after["error"]
