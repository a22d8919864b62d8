"""Mutation fuzzing of the fix paths (issue #5, "never break code").

tests/mutations.py inserts MLflow logging snippets into programs (hypothesmith output, small
generated skeletons, the rules' examples, the end-to-end scripts and a sample of installed
packages' files, MLflow's own among them) and builds self-contained logging programs. On those:

* every mutant, both settings (all rules, safe fixes; all rules, unsafe fixes): check and fix
  never raise, report no internal error, the fixed code parses with libcst and ast and keeps
  the file's line breaks, and fixing is idempotent (`mutations.fix_and_verify`);
* safe fixes keep the logging intents: every literal metric/param/tag key of the original is
  still in the fixed code, the multiset of string constants is unchanged (a safe fix only
  moves keys and values around), and so are the top-level statements that do not log (once
  `with mlflow.start_run():` blocks are flattened and run/client statements set aside, which
  MLF302 and MLF202 legitimately move);
* fixes, safe and unsafe, keep every comment once (a fix that would drop one is not made),
  and add none but MLF101's marker comment;
* safe fixes never change what gets logged: self-contained programs run before and after the
  safe fix against a recording stand-in for the `mlflow` module (`mutations.run_recorded`), and
  the metrics (run, key, value, step), params, final tags, artifacts, runs started and the
  exception the program ends with must be the same;
* unsafe fixes may change behaviour, but never so that the program stops running with a
  TypeError, AttributeError or ImportError (a fix that calls MLflow wrongly): an unsafe fix
  may change what is logged (MLF303's `nested=True` stops a `start_run` from raising, so an
  `except` branch that logged no longer runs);
* the two unsafe fixes that document an unchanged outcome for a run that completes normally,
  MLF101's metric buffering and MLF107's directory upload, log the same metrics and store the
  same artifacts in the recording stand-in.
"""

from __future__ import annotations

import ast
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
from mlflow_lint.rules.metric_in_loop import MARKER

SAFE = build_settings(None, select=["ALL"])
UNSAFE = build_settings(None, select=["ALL"], unsafe_fixes=True)
# One failure per test is shrunk and reported (not one per distinct error): shrinking reruns
# the fixer hundreds of times, and tests/test_regressions.py lists the known bugs anyway.
CI = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    report_multiple_bugs=False,
)


def literal_renderings(text: str) -> set[str]:
    """`str()` of every number, bool and None literal in `text`."""
    return {
        str(node.value)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Constant) and not isinstance(node.value, (str, bytes))
    }


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
    # a merge writes the run id its calls share once; no string disappears altogether
    lost = set(before) - set(constants)
    assert not lost, f"strings lost by a safe fix: {lost}"
    # a merged param or tag stores str(value): a literal's string may be written out
    added = set(constants) - set(before)
    assert added <= literal_renderings(mutant.text), f"strings a safe fix invented: {added}"
    assert other_top_level_statements(mutant.text) == other_top_level_statements(safe)


@settings(CI, max_examples=150)
@given(mutants(generated_bases()))
def test_mutants_of_generated_programs(mutant: Mutant) -> None:
    verify_mutant(mutant)


@settings(CI, max_examples=80)
@given(mutants(real_bases()))
def test_mutants_of_real_files(mutant: Mutant) -> None:
    verify_mutant(mutant)


@settings(CI, max_examples=150)
@given(mutants(generated_bases()))
def test_fixes_keep_comments(mutant: Mutant) -> None:
    """No fix loses or repeats a comment; only MLF101's marker comment may be added."""
    note(f"mutant:\n{mutant.text}")
    before = comments(mutant.text)
    for config in (SAFE, UNSAFE):
        text = fixed(mutant.data, config)
        if text is not None:
            after = comments(text)
            added = [c for c in after - before if not c.startswith(MARKER)]
            assert not before - after and not added, f"lost {before - after}, added {added}"


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
    note(f"original ended with {before['error']}, fixed with {after['error']}")
    if before["error"] is None and after["error"] is not None:
        kind = after["error"].split(":", 1)[0]
        assert kind not in ("TypeError", "AttributeError", "ImportError"), after["error"]


# MLF101's buffering fix and MLF107's directory upload are unsafe, but each documents that what
# is stored stays the same for a run that completes normally: the same metric keys, values and
# steps (MLF101), the same files under the same artifact path (MLF107).
BUFFER_AND_DIRECTORY = build_settings(None, select=["MLF101", "MLF107"], unsafe_fixes=True)


@settings(CI, max_examples=200)
@given(executable_programs(focus=("metric-loop", "listdir"), client_odds=2))
def test_buffering_and_directory_fixes_store_the_same(program: Program) -> None:
    note(f"program:\n{program.text}")
    unsafe = fixed(program.data, BUFFER_AND_DIRECTORY)
    if unsafe is None:
        return
    before = run_recorded(program.text)
    if before["error"] is None:
        after = run_recorded(unsafe)
        assert before == after, differences(before, after)
