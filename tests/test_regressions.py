"""Minimal reproducers of bugs found by the property, mutation and sweep tests (issue #5).

Each group states the input, what happened, and what is expected; tests/test_mutations.py
finds the same bugs again in random programs. They stay as regression tests once fixed.
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
        # -> mlflow.log_metrics({"a": 1.0, "b": 2.0}): "# the first metric" is gone (the calls
        # in a loop and a function named for a batch: where two calls are reported)
        'import mlflow\nfor epoch in range(3):\n    mlflow.log_metric(\n        "a",  # the first metric\n'
        '        1.0,\n        step=epoch,\n    )\n    mlflow.log_metric("b", 2.0, step=epoch)\n',
        # -> mlflow.log_params({"a": 1, "b": 2}): "# why b" is gone
        'import mlflow\ndef on_batch_end():\n    mlflow.log_param("a", 1)\n'
        '    mlflow.log_param(  # why b\n        "b", 2)\n',
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


# --- 3. A fix that rewrites a compound statement repeats the `;` or comment ending its last line
# The position range of a compound statement (a loop) ends before the `;` and the comment that
# end its last line, but the replacement, generated from the node with libcst, contains them
# again, and the originals stay after the edited range. With `;` the result is `...;;`, a
# SyntaxError: fix_source catches it (nothing is written) and reports "internal error: a fix
# produced code that does not parse". With a comment the comment is doubled, once more per
# fix pass (MLF202 hoisting out of 3 nested loops writes it 8 times), or copied onto the
# `log_batch` line MLF101 appends. MLF302 has the same problem where `end_run();` follows a
# body line that ends with `;`. Expected: a valid fix (or none) that keeps each comment once.
@pytest.mark.parametrize(
    "source",
    [
        # MLF202 hoists the client above the loop; the loop ends with `...;`
        "import mlflow\nfor i in range(2):\n    client = mlflow.MlflowClient()\n"
        "    client.log_metric('r', 'a', i);\n",
        # MLF302 wraps the statements between start_run() and end_run(); both end with `;`
        "import mlflow\nmlflow.start_run()\nx = compute();\nmlflow.log_param('a', x);\n"
        "mlflow.end_run();\n",
    ],
    ids=["MLF202", "MLF302"],
)
@pytest.mark.parametrize("settings", [SAFE, UNSAFE], ids=["safe", "unsafe"])
def test_fix_of_code_with_semicolons_parses(source: str, settings: Settings) -> None:
    result, fixed = fix(source, settings)
    assert result.error is None, result.error.message
    if fixed is not None:
        compile(fixed, "example.py", "exec")


@pytest.mark.parametrize(
    "source, settings",
    [
        # MLF202 (safe): -> `client.log_metric('r', 'a', i)  # note  # note`
        (
            "import mlflow\nfor i in range(2):\n    client = mlflow.MlflowClient()\n"
            "    client.log_metric('r', 'a', i)  # note\n",
            SAFE,
        ),
        # MLF202 (safe), two loops: the comment is written 4 times
        (
            "import mlflow\nfor i in range(2):\n    for j in range(2):\n"
            "        client = mlflow.MlflowClient()\n        client.log_metric('r', 'a', i)  # note\n",
            SAFE,
        ),
        # MLF101 (unsafe): `# note` stays on `x = 1` and is copied onto the flushing
        # `_mlflow_client.log_batch(...)` line of the `finally` block
        (
            "import time\nimport mlflow\nwith mlflow.start_run():\n    for i in range(3):\n"
            "        mlflow.log_metric('a', i, step=i)\n        x = 1  # note\n",
            UNSAFE,
        ),
        # MLF101 (unsafe), the buffered call itself ends with `;  # note`: the rebuilt
        # append keeps the comment (`)# note`) and `;  # note` lands after the `finally`
        # block's `log_batch(...)`, after the fix of the first shape above
        (
            "import time\nimport mlflow\nwith mlflow.start_run():\n    for i in range(3):\n"
            "        mlflow.log_metric('a', i, step=i);  # note\n",
            UNSAFE,
        ),
    ],
    ids=["MLF202", "MLF202-nested", "MLF101", "MLF101-semicolon"],
)
def test_fix_of_loop_does_not_repeat_its_last_comment(source: str, settings: Settings) -> None:
    result, fixed = fix(source, settings)
    assert result.error is None
    assert fixed is not None
    assert comments(fixed)["# note"] == 1, fixed


# --- 4. MLF101's buffering fix rewrites MlflowClient.log_metric with the fluent argument order ---
# `client.log_metric(run_id, key, value)` in a loop inside `with mlflow.start_run():` is taken
# for a plain fluent `mlflow.log_metric(key, value, step)` (metric_in_loop._plain_arguments
# binds every call with the fluent signature, and _bufferable accepts the client call), so
# the unsafe fix buffers `Metric(key=run_id, value=key, step=value)` and sends it to the
# active run instead of `run_id`. The rule's documentation promises the same keys, values and
# steps, for plain `mlflow.log_metric` statements only. Expected: no buffering fix for a loop
# with client calls (or one that keeps the key, value, step and run).
def test_buffering_fix_leaves_client_calls_alone() -> None:
    source = (
        "import mlflow\n"
        'run_id = "r-0"\n'
        "with mlflow.start_run():\n"
        "    client = mlflow.MlflowClient()\n"
        "    for i in range(3):\n"
        '        client.log_metric(run_id, "loss", i)\n'
    )
    # MLF108 adds `step=i` here on purpose (its unsafe fix changes the steps): leave it out
    result, fixed = fix(
        source, build_settings(None, select=["ALL"], ignore=["MLF108"], unsafe_fixes=True)
    )
    assert result.error is None
    if fixed is not None:
        before, after = run_recorded(source), run_recorded(fixed)
        # before: ("r-0", "loss", 0..2, step 0); after: (active run, key "r-0", value "loss", step i)
        assert after["metrics"] == before["metrics"], fixed


# --- 5. Fixes in CRLF files leave a stray carriage return ---------------------------------------
# MLF202 and MLF302 build their replacement with `ctx.code(node).rstrip("\n")`, which leaves the
# `\r` of a CRLF file's last line: the result ends in `\r\r\n`, a lone CR that Python (and
# editors) read as one more line break, so the file gets mixed line endings. Where the lone
# `\r` comes before a `;` or in a loop MLF101 then rewrites, it breaks the code: MLF101 on
# `mlflow.log_metric(...);` in a CRLF file gives `...log_batch(...)\r;` ("internal error: a
# fix produced code that does not parse (SyntaxError: invalid syntax)"), and MLF101 after
# MLF302 moves a line out of its block or gives "unindent does not match any outer
# indentation level" / "expected 'except' or 'finally' block" (the internal errors the
# mutation fuzzer kept finding in CRLF mutants). Expected: every line still ends with `\r\n`.
@pytest.mark.parametrize(
    "source, settings",
    [
        # MLF302 (safe) -> `    mlflow.log_param('a', 1)\r\r\n`
        (
            "import mlflow\r\nrun = mlflow.start_run()\r\nx = compute()\r\n"
            "mlflow.log_param('a', x)\r\nmlflow.end_run()\r\n",
            SAFE,
        ),
        # MLF202 (safe) -> `    client.log_metric('r', 'a', i)\r\r\n`
        (
            "import mlflow\r\nfor i in range(2):\r\n    client = mlflow.MlflowClient()\r\n"
            "    client.log_metric('r', 'a', i)\r\n",
            SAFE,
        ),
        # MLF101 (unsafe): internal error, `\r;` after the finally block's log_batch(...)
        (
            "import time\r\nimport mlflow\r\nwith mlflow.start_run():\r\n"
            "    for i in range(3):\r\n        mlflow.log_metric('a', i, step=i);\r\n",
            UNSAFE,
        ),
        # MLF302 then MLF101 (unsafe): `)\r    if len(_metric_batch) >= 1000 ...`: after the
        # lone CR the flushing `if` starts a line of its own, dedented out of the loop body
        # (here it still parses, and flushes once after the loop; with other indentation the
        # result does not parse: "unindent does not match any outer indentation level")
        (
            "import mlflow as mf\r\nrun = mf.start_run()\r\ndata = load()\r\n"
            "for step in range(2):\r\n  mf.log_metric('b', 1.0, step=step)\r\nmf.end_run()\r\n",
            UNSAFE,
        ),
    ],
    ids=["MLF302", "MLF202", "MLF101-semicolon", "MLF302-then-MLF101"],
)
def test_fix_keeps_crlf_line_endings(source: str, settings: Settings) -> None:
    result, fixed = fix(source, settings)
    assert result.error is None, result.error.message
    assert fixed is not None
    compile(fixed, "example.py", "exec")
    assert fixed.count("\r") == fixed.count("\r\n") == fixed.count("\n"), repr(fixed)


# --- 7. A loop whose iterable calls a helper of the module, inside a run's `with` -------------
# Found on real code (an integration test's utilities): MLF303 looked for the loop around a
# call by reading the node after the loop in the ancestor chain; for the helper call in the
# loop's header (`for item in helper():`) the loop is the last node of the chain, and the
# check raised IndexError: an internal error, and no finding of the whole file was reported.
# Expected: the file is checked; the header is not the loop's body.
def test_a_helper_called_in_a_loop_header_inside_a_run_is_checked() -> None:
    source = (
        "import mlflow\n\n\ndef batches():\n    return [1, 2]\n\n\n"
        "def train():\n    with mlflow.start_run():\n        for batch in batches():\n"
        "            mlflow.log_metric('loss', batch, step=batch)\n"
    )
    result = engine.check_source(source.encode(), "example.py", SAFE)
    assert result.error is None, result.error.message
    assert [v.code for v in result.violations] == ["MLF101"]


# --- 8. An import a fix adds, when the module's first statement is a decorated definition ------
# Found by the mutation test: the import went before the statement's own range, which for a
# decorated class or function starts at `class`/`def`: between the decorator and the class,
# and the fixed file did not parse (reported as an internal error, nothing fixed).
# Expected: the import goes above the decorator.
@pytest.mark.parametrize(
    "definition", ["@decorator\nclass K:\n    pass\n", "@a\n@b\ndef f():\n    pass\n"]
)
def test_an_added_import_goes_above_a_decorated_definition(definition: str) -> None:
    source = (
        '"""Docstring."""\n' + definition + "from mlflow import MlflowClient\n"
        "client = MlflowClient()\nfor epoch in range(3):\n"
        "    client.log_metric(run_id, 'loss', 0.5, step=epoch)\n"
        "    client.log_param(run_id, 'lr', 0.1)\n"
    )
    result, fixed = fix(source, UNSAFE)
    assert result.error is None, result.error.message
    assert fixed is not None
    compile(fixed, "example.py", "exec")
    assert fixed.startswith(
        '"""Docstring."""\nimport time\n\nfrom mlflow.entities import Metric, Param\n\n@'
    )
