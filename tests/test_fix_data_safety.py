"""Fixes that would lose data are not offered, or are made correct (#12, "Unsafe fixes that
lose data"), and the one difference the batching rules' docs name for safe merges is really
the only one: each case runs the original and the fixed program against real MLflow (a
`sqlite:///` tracking store) and compares what is stored.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest
from mlflow_harness import Backend, copy_script, sqlite_backend

from mlflow_lint import engine
from mlflow_lint.config import build_settings
from mlflow_lint.rule import Safety


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with sqlite_backend(tmp_path_factory.mktemp("fix-data-safety")) as backend:
        yield backend


def findings(source: str, code: str, unsafe: bool = True) -> list:
    settings = build_settings(None, select=[code], unsafe_fixes=unsafe)
    text = textwrap.dedent(source)
    return [v for v in engine.analyze(text, "t.py", settings.rules_for("t.py"), settings)]


def fixed(source: str, code: str, unsafe: bool = True) -> Optional[str]:
    settings = build_settings(None, select=[code], unsafe_fixes=unsafe)
    result, new = engine.fix_source(textwrap.dedent(source).encode(), "t.py", settings)
    assert result.error is None, result.error
    return new.decode() if new is not None else None


def stored(backend: Backend, source: str, tmp_path: Path, label: str):  # type: ignore[no-untyped-def]
    script = tmp_path / label / "train.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(source)
    return backend.run(copy_script(script, tmp_path / f"{label}-copy"), label, reuse=False)


# --- MLF101: a step that may be None ------------------------------------------------------------
STEP_MAY_BE_NONE = """\
import mlflow

def step_of(i):
    return None if i == 0 else i  # the first point has no step: fluent log_metric stores 0

with mlflow.start_run(run_name="steps"):
    for i in range(4):
        s = step_of(i)
        mlflow.log_metric("loss", 1.0 / (i + 1), step=s)
"""


def test_buffering_keeps_a_none_step_as_step_0(sqlite: Backend, tmp_path: Path) -> None:
    new = fixed(STEP_MAY_BE_NONE, "MLF101")
    assert new is not None and "step=s or 0" in new
    original = stored(sqlite, STEP_MAY_BE_NONE, tmp_path, "original")
    after = stored(sqlite, new, tmp_path, "fixed")
    assert original.run.returncode == 0 and after.run.returncode == 0, after.run.failure()
    assert after.snapshot == original.snapshot
    [run] = original.snapshot.values()
    assert [step for step, _ in run["metrics"]["loss"]] == [0, 1, 2, 3]


# --- MLF101: a call whose error a handler swallows --------------------------------------------
SKIPPED_BAD_VALUE = """\
import mlflow
from mlflow.exceptions import MlflowException

values = [0.5, "not a number", 0.25]
with mlflow.start_run(run_name="handled"):
    for step, value in enumerate(values):
        try:
            mlflow.log_metric("loss", value, step=step)
        except MlflowException:
            pass  # skip a bad point, keep the good ones
"""


def test_no_buffering_where_a_handler_swallows_the_error(sqlite: Backend, tmp_path: Path) -> None:
    [finding] = findings(SKIPPED_BAD_VALUE, "MLF101")
    assert finding.fix is None
    # what the fix would have lost: the original keeps every good point
    original = stored(sqlite, SKIPPED_BAD_VALUE, tmp_path, "handled")
    [run] = original.snapshot.values()
    assert [step for step, _ in run["metrics"]["loss"]] == [0, 2]


def test_no_buffering_with_an_active_model() -> None:
    source = """\
    import mlflow
    mlflow.set_active_model(name="classifier")
    with mlflow.start_run():
        for step in range(10):
            mlflow.log_metric("loss", 1.0, step=step)
    """
    [finding] = findings(source, "MLF101")
    assert finding.fix is None


# --- MLF101: a loop after the block's run was ended -------------------------------------------
ENDED_EARLY = """\
import mlflow

with mlflow.start_run(run_name="warm-up"):
    mlflow.log_metric("warmup_loss", 0.5)
    mlflow.end_run()  # ends the block's run early: the loop's first call starts a new one
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
"""


def test_no_buffering_after_the_blocks_run_was_ended(sqlite: Backend, tmp_path: Path) -> None:
    # the buffered fix reads `mlflow.active_run()`, None after `end_run()`: the fixed program
    # raised at the flush and stored none of the loop's points
    [finding] = findings(ENDED_EARLY, "MLF101")
    assert finding.fix is None
    original = stored(sqlite, ENDED_EARLY, tmp_path, "ended-early")
    assert original.run.returncode == 0, original.run.failure()
    points = sorted(
        (key, len(values))
        for run in original.snapshot.values()
        for key, values in run["metrics"].items()
    )
    assert points == [("loss", 3), ("warmup_loss", 1)]
    # without the early end, the block's run is active and the fix is offered
    [kept] = findings(ENDED_EARLY.replace("    mlflow.end_run()", "    pass"), "MLF101")
    assert kept.fix is not None


# --- MLF105: loop variables read after the loop ----------------------------------------------
def test_no_mapping_fix_when_the_loop_variables_are_read_after_it() -> None:
    source = """\
    import mlflow
    with mlflow.start_run():
        for key, value in flat_params.items():
            mlflow.log_param(key, value)
        print("last param:", key)
    """
    [finding] = findings(source, "MLF105")
    assert finding.fix is None


# --- safe merges: what survives a rejected item -------------------------------------------------
# the group in a function named for a batch, where MLF103 reports two calls (a script's own
# code runs once per run: fewer than ten calls there are not reported)
REJECTED_PARAM = """\
import mlflow


def on_batch_end(epoch):
    mlflow.log_param("lr", 0.1)
    mlflow.log_param("batch_size", 32)
    mlflow.log_param("seed", 7)


with mlflow.start_run(run_name="conflict"):
    mlflow.log_param("seed", 1)
    print("resumed")
    for epoch in range(3):
        on_batch_end(epoch)
"""


def test_a_merge_rejected_by_mlflow_stores_none_of_its_items(
    sqlite: Backend, tmp_path: Path
) -> None:
    """The difference MLF102-MLF104's docs name: when MLflow rejects one item (here a param
    already logged with another value), the separate calls had stored the items before it,
    the batch stores none; both programs raise at that point."""
    new = fixed(REJECTED_PARAM, "MLF103", unsafe=False)
    assert new is not None and 'mlflow.log_params({"lr": 0.1, "batch_size": 32, "seed": 7})' in new
    original = stored(sqlite, REJECTED_PARAM, tmp_path, "separate")
    after = stored(sqlite, new, tmp_path, "merged")
    assert original.run.returncode != 0 and after.run.returncode != 0
    assert "Changing param values is not allowed" in original.run.stderr
    assert "Changing param values is not allowed" in after.run.stderr
    [separate] = original.snapshot.values()
    [merged] = after.snapshot.values()
    assert separate["params"] == {"seed": "1", "lr": "0.1", "batch_size": "32"}
    assert merged["params"] == {"seed": "1"}  # lr and batch_size went with the batch


def test_merges_a_handler_could_observe_are_unsafe() -> None:
    # in a function named for a batch, where two calls are reported
    head = "import mlflow\ndef on_batch_end():\n"
    body = 'mlflow.log_param("a", 1)\n        mlflow.log_param("b", 2)\n'
    caught = f"{head}    try:\n        {body}    except Exception:\n        pass\n"
    [finding] = findings(caught, "MLF103")
    assert finding.fix is not None and finding.fix.safety is Safety.UNSAFE
    reraised = (
        f"{head}    try:\n        {body}    except Exception:\n        cleanup()\n        raise\n"
    )
    [finding] = findings(reraised, "MLF103")
    assert finding.fix is not None and finding.fix.safety is Safety.SAFE
    plain = f"{head}    {body.replace('        ', '    ')}"
    [finding] = findings(plain, "MLF103")
    assert finding.fix is not None and finding.fix.safety is Safety.SAFE


@pytest.mark.parametrize(
    "key",
    ['"bad key!"', '"a//b"', '"/abs"', '""', '"' + "k" * 251 + '"'],
)
def test_a_literal_key_mlflow_rejects_makes_the_merge_unsafe(key: str) -> None:
    source = (
        "import mlflow\ndef on_batch_end():\n"
        f'    mlflow.log_param({key}, 1)\n    mlflow.log_param("ok", 2)\n'
    )
    [finding] = findings(source, "MLF103")
    assert finding.fix is not None and finding.fix.safety is Safety.UNSAFE


def test_key_validation_agrees_with_mlflow() -> None:
    from mlflow.utils import validation

    from mlflow_lint import mlflow_api as api

    for key in [
        "loss",
        "val/acc",
        "a b",
        "a:b",
        "ü",
        "a.b-c_d",
        "bad key!",
        "a//b",
        "/x",
        "",
        "a/",
    ]:
        try:
            validation._validate_metric_name(key)
            accepted = True
        except Exception:
            accepted = False
        assert api.valid_key(key) is accepted, key
