"""Minimal reproducers of bugs found by the property, mutation and sweep tests (issue #5).

Each test states the input, what happens, and what is expected; each fails until its bug is
fixed in mlflow_lint/ (tests/test_mutations.py finds them again, in random programs).
"""

from __future__ import annotations

from typing import Optional

import pytest
from mutations import comments, run_recorded

from mlflow_lint import engine
from mlflow_lint.config import Settings, build_settings

SAFE = build_settings(None, select=["ALL"])
UNSAFE = build_settings(None, select=["ALL"], unsafe_fixes=True)


def fix(source: str, settings: Settings = SAFE) -> tuple[engine.FileResult, Optional[str]]:
    result, new_data = engine.fix_source(source.encode(), "example.py", settings)
    return result, new_data.decode() if new_data is not None else None


# --- 1. A safe fix calls the batched function through a name bound only later -----------------
# MLF102/MLF103/MLF104 spell the batched call with fixes.fluent_callee, which looks names up
# when the block has been walked to its end (leave_Module / leave_IndentedBlock), so a name
# bound *after* the calls counts as available at the calls. The fixed program then raises
# NameError (module level) or UnboundLocalError (an import later in the same function) where
# the original ran. Expected: no fix (or one spelled with a name bound before the calls).
@pytest.mark.parametrize(
    "source",
    [
        # -> mlflow.log_params({...}) before `import mlflow`: NameError
        'from mlflow import log_param\nlog_param("a", 1)\nlog_param("b", 2)\nimport mlflow\n',
        # -> log_metrics({...}) before `from mlflow import log_metrics`: NameError
        "from mlflow import log_metric\nlog_metric('a', 1.0)\nlog_metric('b', 2.0)\n"
        "from mlflow import log_metrics\n",
        # -> mlflow.set_tags({...}) in a function that imports mlflow later: UnboundLocalError
        "from mlflow import set_tag\n\n\ndef tag():\n    set_tag('a', 1)\n    set_tag('b', 2)\n"
        "    import mlflow\n\n\ntag()\n",
    ],
    ids=["MLF103-module-imported-later", "MLF102-batch-name-imported-later", "MLF104-local"],
)
def test_safe_fix_never_uses_a_name_bound_after_the_calls(source: str) -> None:
    assert run_recorded(source)["error"] is None
    result, fixed = fix(source)
    assert result.error is None
    if fixed is not None:
        assert run_recorded(fixed) == run_recorded(source), fixed


# --- 2. Safe fixes drop comments --------------------------------------------------------------
# MLF102-MLF104 refuse to merge calls when a comment would be lost (a trailing comment, a
# comment line between the calls: ConsecutiveCalls._joins), but rebuild the merged call from
# the keys' and values' code only, so a comment inside a call's parentheses disappears. MLF105
# replaces the whole loop, so a comment on the loop header or in its body disappears too.
# Expected: every comment of the original is in the fixed code (or no fix).
@pytest.mark.parametrize(
    "source",
    [
        # -> mlflow.log_metrics({"a": 1.0, "b": 2.0}): "# the first metric" is gone
        'import mlflow\nmlflow.log_metric(\n    "a",  # the first metric\n    1.0,\n)\n'
        'mlflow.log_metric("b", 2.0)\n',
        # -> mlflow.log_params({"a": 1, "b": 2}): "# why b" is gone
        'import mlflow\nmlflow.log_param("a", 1)\nmlflow.log_param(  # why b\n    "b", 2)\n',
        # -> mlflow.log_params({"a": 1}): "# per item" is gone
        'import mlflow\nwith mlflow.start_run():\n    for k, v in {"a": 1}.items():  # per item\n'
        "        mlflow.log_param(k, v)\n",
        'import mlflow\nwith mlflow.start_run():\n    for k, v in {"a": 1}.items():\n'
        "        # per item\n        mlflow.log_param(k, v)\n",
    ],
    ids=["MLF102-argument", "MLF103-open-paren", "MLF105-header", "MLF105-body"],
)
def test_safe_fix_keeps_comments(source: str) -> None:
    result, fixed = fix(source)
    assert result.error is None
    if fixed is not None:
        lost = comments(source) - comments(fixed)
        assert not lost, f"lost {dict(lost)}:\n{fixed}"


# --- 3. A statement ending with `;` makes a fix produce invalid code ---------------------------
# A node's position range ends before the `;` that ends its last line, but the replacement
# text, generated from the node with libcst, ends with that `;` again: `...;;`, a SyntaxError.
# fix_source catches it (nothing is written) and reports "internal error: a fix produced code
# that does not parse". Expected: a valid fix (or none), never an internal error.
@pytest.mark.parametrize(
    "source",
    [
        # MLF202 hoists the client above the loop; the loop ends with `...;`
        "import mlflow\nfor i in range(2):\n    client = mlflow.MlflowClient()\n"
        "    client.log_metric('r', 'a', i);\n",
        # MLF302 wraps the statements between start_run() and end_run(); both end with `;`
        "import mlflow\nmlflow.start_run()\nmlflow.log_param('a', 1);\nmlflow.end_run();\n",
    ],
    ids=["MLF202", "MLF302"],
)
@pytest.mark.parametrize("settings", [SAFE, UNSAFE], ids=["safe", "unsafe"])
def test_fix_of_code_with_semicolons_parses(source: str, settings: Settings) -> None:
    result, fixed = fix(source, settings)
    assert result.error is None, result.error.message
    if fixed is not None:
        compile(fixed, "example.py", "exec")
