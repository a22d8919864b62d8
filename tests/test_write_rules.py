"""Edge cases of the write-path rules (MLF102-MLF109, MLF901) and their fixes, in-process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

import pytest
from conftest import lint, run_cli

from mlflow_lint import engine
from mlflow_lint.config import build_settings


def fixed(source: str, code: str, unsafe: bool = False) -> Optional[str]:
    """The fixed text when a fix of `code` applies (None when nothing changes)."""
    settings = build_settings(None, select=[code], unsafe_fixes=unsafe)
    result, new = engine.fix_source(textwrap.dedent(source).encode(), "t.py", settings)
    assert result.error is None, result.error
    return new.decode() if new is not None else None


def codes(source: str, code: str) -> list[int]:
    return [line for line, _, c in lint(source, select=[code])]


HEAD = "import mlflow\n"


def epochs(body: str, head: str = HEAD) -> str:
    """`body` in a loop over steps, where MLF102-MLF104 report two calls (a script's own code
    runs once per run: fewer than ten calls there are not reported; an epoch loop's body,
    fewer than five)."""
    return head + "for step in range(3):\n" + textwrap.indent(body, "    ")


def on_batch_end(body: str) -> str:
    """`body` in a function named for a batch, also reported from two calls."""
    return HEAD + "def on_train_batch_end():\n" + textwrap.indent(body, "    ")


# --- MLF102-MLF104: what is merged, and what is never merged ---------------------------------
def test_merges_with_shared_step_and_synchronous() -> None:
    source = (
        HEAD
        + 'mlflow.log_metric("a", x, step=s, synchronous=False)\nmlflow.log_metric("b", y, step=s, synchronous=False)\n'
    )
    # asynchronous: a rejected item is only logged, and a rejected batch loses every item
    assert fixed(source, "MLF102") is None
    assert (
        fixed(source, "MLF102", unsafe=True)
        == HEAD + 'mlflow.log_metrics({"a": x, "b": y}, step=s, synchronous=False)\n'
    )


@pytest.mark.parametrize(
    "second",
    [
        'mlflow.log_metric("b", y, step=t)',  # different step
        'mlflow.log_metric("b", y)',  # step vs no step
        'mlflow.log_metric("b", y, step=s, timestamp=ts)',  # timestamp
        'mlflow.log_metric("b", y, step=s, run_id=r)',  # another run
        'mlflow.log_metric("b", y, step=s, synchronous=False)',  # synchronous differs
        'z = mlflow.log_metric("b", y, step=s)',  # result used
        "mlflow.log_metric(*args)",  # arguments unknown
        'mlflow.log_metric("b", y, step=next(steps))',  # a step with side effects
        "x = 1",  # another statement between
    ],
)
def test_never_merged(second: str) -> None:
    source = epochs(f'mlflow.log_metric("a", x, step=s)\n{second}\n')
    assert codes(source, "MLF102") == []
    # the same calls, merged, are reported: the pair is not left alone for where it is
    assert codes(
        epochs('mlflow.log_metric("a", x, step=s)\nmlflow.log_metric("b", y, step=s)\n'), "MLF102"
    ) == [3]


def test_comments_never_split_a_group_and_survive_the_merge() -> None:
    # a comment line between the calls goes above the merged call
    source = epochs('mlflow.log_param("a", 1)\n# why b\nmlflow.log_param("b", 2)\n')
    assert codes(source, "MLF103") == [3]
    assert fixed(source, "MLF103") == epochs('# why b\nmlflow.log_params({"a": 1, "b": 2})\n')
    # a call's own comment stays beside its entry, one entry per line
    trailing = epochs('mlflow.log_param("a", 1)  # note\nmlflow.log_param("b", 2)\n')
    assert codes(trailing, "MLF103") == [3]
    assert fixed(trailing, "MLF103") == epochs(
        'mlflow.log_params(\n    {\n        "a": 1,  # note\n        "b": 2,\n    },\n)\n'
    )
    last = epochs('mlflow.log_param("a", 1)\nmlflow.log_param("b", 2)  # note on the block\n')
    assert fixed(last, "MLF103") == epochs(
        'mlflow.log_params(\n    {\n        "a": 1,\n        "b": 2,  # note on the block\n    },\n)\n'
    )


def test_a_noqa_on_the_reported_line_silences_the_whole_group(tmp_path: Path) -> None:
    body = 'mlflow.log_param("a", 1)  # noqa: MLF103\nmlflow.log_param("b", 2)\nmlflow.log_param("c", 3)\n'
    # in a function named for a step: reported from two calls (and no MLF106, as in a loop)
    assert codes(on_batch_end(body), "MLF103") == []
    assert fixed(on_batch_end(body), "MLF103", unsafe=True) is None
    (tmp_path / "t.py").write_text(on_batch_end(body))
    assert run_cli("check", "--select", "MLF103", "t.py", cwd=tmp_path).returncode == 0
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "MLF", "t.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert flake8.returncode == 0 and flake8.stdout == "", flake8.stdout
    # elsewhere in the group it silences nothing, as in Ruff and flake8: the group is one finding
    middle = 'mlflow.log_param("a", 1)\nmlflow.log_param("b", 2)  # noqa: MLF103\nmlflow.log_param("c", 3)\n'
    assert codes(on_batch_end(middle), "MLF103") == [3]


def test_blank_lines_between_calls_do_not_block_the_merge() -> None:
    source = epochs('mlflow.set_tag("a", "1")\n\nmlflow.set_tag("b", "2")\n')
    assert fixed(source, "MLF104") == epochs('mlflow.set_tags({"a": "1", "b": "2"})\n')


def test_duplicate_literal_keys_are_reported_without_a_fix() -> None:
    source = epochs('mlflow.log_param("lr", 1)\nmlflow.log_param("lr", 2)\n')
    assert codes(source, "MLF103") == [3]
    assert fixed(source, "MLF103", unsafe=True) is None
    [violation] = engine.analyze(
        source,
        "t.py",
        build_settings(None, select=["MLF103"]).rules_for("t.py"),
        build_settings(None),
    )
    assert "repeat the key 'lr'" in violation.message


def test_computed_keys_or_calls_make_the_fix_unsafe() -> None:
    computed = epochs("mlflow.log_metric(name_a, 1)\nmlflow.log_metric(name_b, 2)\n")
    assert fixed(computed, "MLF102") is None
    assert fixed(computed, "MLF102", unsafe=True) == epochs(
        "mlflow.log_metrics({name_a: 1, name_b: 2})\n"
    )
    calls = epochs('mlflow.log_param("a", compute_a())\nmlflow.log_param("b", 2)\n')
    assert codes(calls, "MLF103") == [3]
    assert fixed(calls, "MLF103") is None
    pure = epochs(
        'mlflow.log_metric("a", loss.item(), step=s)\nmlflow.log_metric("b", float(acc), step=s)\n'
    )
    assert fixed(pure, "MLF102") == epochs(
        'mlflow.log_metrics({"a": loss.item(), "b": float(acc)}, step=s)\n'
    )


def test_computed_tag_keys_stay_safe_because_the_last_write_wins() -> None:
    source = epochs("mlflow.set_tag(key_a, 1)\nmlflow.set_tag(key_b, 2)\n")
    assert fixed(source, "MLF104") == epochs("mlflow.set_tags({key_a: 1, key_b: 2})\n")


def test_values_keep_their_expression_and_type() -> None:
    source = epochs(
        'mlflow.log_param("a", 1)\nmlflow.log_param("b", 1.0)\nmlflow.log_param("c", True)\nmlflow.log_param("d", "1")\n'
    )
    assert fixed(source, "MLF103") == epochs(
        'mlflow.log_params({"a": 1, "b": 1.0, "c": True, "d": "1"})\n'
    )


def test_keyword_and_positional_spellings_merge_and_emit_keywords() -> None:
    # arguments are bound by name: `step=3` and a positional 3 are the same step
    source = epochs('mlflow.log_metric(key="a", value=1, step=3)\nmlflow.log_metric("b", 2, 3)\n')
    assert fixed(source, "MLF102") == epochs('mlflow.log_metrics({"a": 1, "b": 2}, step=3)\n')
    different = epochs('mlflow.log_metric("a", 1, 3)\nmlflow.log_metric("b", 2, 4)\n')
    assert codes(different, "MLF102") == []
    assert fixed(different, "MLF102") is None


def test_aliases_and_module_spelling_are_kept() -> None:
    alias = "import mlflow as mf\n"
    source = epochs("mf.log_param('a', 1)\nmf.log_param('b', 2)\n", alias)
    assert fixed(source, "MLF103") == epochs("mf.log_params({'a': 1, 'b': 2})\n", alias)
    names = "from mlflow import log_param, log_params\n"
    bare = epochs("log_param('a', 1)\nlog_param('b', 2)\n", names)
    assert fixed(bare, "MLF103") == epochs("log_params({'a': 1, 'b': 2})\n", names)
    # the batched name is not imported and there is no module name: reported, not fixed
    missing = epochs("log_param('a', 1)\nlog_param('b', 2)\n", "from mlflow import log_param\n")
    assert codes(missing, "MLF103") == [3]
    assert fixed(missing, "MLF103", unsafe=True) is None


def test_batches_respect_mlflow_limits() -> None:
    calls = "".join(f'mlflow.set_tag("t{i}", {i})\n' for i in range(150))
    result = fixed(HEAD + calls, "MLF104")
    assert result is not None
    assert result.count("mlflow.set_tags(") == 2  # 100 + 50: the per-request limit for tags
    assert result.count('"t') == 150


def test_semicolon_separated_calls_are_left_alone() -> None:
    assert codes(epochs('mlflow.log_param("a", 1); mlflow.log_param("b", 2)\n'), "MLF103") == []


def test_min_calls_option_reaches_the_rule(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.mlflow-lint.MLF103]\nmin-calls = 3\n")
    pair = epochs('mlflow.log_param("a", 1)\nmlflow.log_param("b", 2)\n')
    (tmp_path / "t.py").write_text(pair)
    assert run_cli("check", "--select", "MLF103", ".", cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text(
        "[tool.mlflow-lint.consecutive-log-param]\nmin-calls = 2\n"
    )
    assert run_cli("check", "--select", "MLF103", ".", cwd=tmp_path).returncode == 1
    (tmp_path / "pyproject.toml").write_text("[tool.mlflow-lint.MLF103]\nmin-call = 3\n")
    bad = run_cli("check", ".", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown option 'min-call' for MLF103" in bad.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.mlflow-lint.MLF103]\nmin-calls = "3"\n')
    assert "MLF103.min-calls must be of type int" in run_cli("check", ".", cwd=tmp_path).stderr


# --- MLF105 ------------------------------------------------------------------------------------
RUN = "with mlflow.start_run():\n"


def test_mapping_loop_fix_is_safe_inside_a_run() -> None:
    source = HEAD + RUN + "    for k, v in flat_params.items():\n        mlflow.log_param(k, v)\n"
    assert fixed(source, "MLF105") == HEAD + RUN + "    mlflow.log_params(flat_params)\n"
    metrics = (
        HEAD
        + RUN
        + "    for k, v in scores.items():\n        mlflow.log_metric(k, v, step=epoch)\n"
    )
    assert fixed(metrics, "MLF105") == HEAD + RUN + "    mlflow.log_metrics(scores, step=epoch)\n"


def test_mapping_loop_fix_is_unsafe_outside_a_run_or_when_the_names_are_reused() -> None:
    outside = HEAD + "for k, v in flat_params.items():\n    mlflow.log_param(k, v)\n"
    assert codes(outside, "MLF105") == [2]
    assert fixed(outside, "MLF105") is None
    assert fixed(outside, "MLF105", unsafe=True) == HEAD + "mlflow.log_params(flat_params)\n"
    reused = (
        HEAD
        + RUN
        + "    for k, v in flat_params.items():\n        mlflow.log_param(k, v)\n    print(k)\n"
    )
    assert fixed(reused, "MLF105") is None


@pytest.mark.parametrize(
    "loop",
    [
        "for k, v in flat_params.items():\n    mlflow.log_param(v, k)\n",  # swapped
        "for k, v in flat_params.items():\n    mlflow.log_param(k, v)\n    print(k)\n",  # does more
        "for k, v in flat_params.items():\n    if v:\n        mlflow.log_param(k, v)\n",  # filtered
        "for k, v in flat_params.items():\n    mlflow.log_metric(k, v, step=v)\n",  # step varies
        "for k in params:\n    mlflow.log_param(k, params[k])\n",
        "for k, v in flat_params.items():\n    mlflow.log_param(k, v)\nelse:\n    pass\n",
    ],
)
def test_not_a_mapping_loop(loop: str) -> None:
    assert codes(HEAD + loop, "MLF105") == []


def test_mapping_loop_is_not_reported_again_by_the_loop_rules() -> None:
    source = (
        HEAD
        + "for k, v in params.items():\n    mlflow.log_param(k, v)\nfor k, v in m.items():\n    mlflow.log_metric(k, v, step=1)\n"
    )
    assert codes(source, "MLF106") == [] and codes(source, "MLF101") == []


# --- MLF106, MLF109, MLF901: report only ---------------------------------------------------------
def test_param_in_loop_messages() -> None:
    source = (
        HEAD
        + "for epoch in range(3):\n    mlflow.log_param('lr', lr)\n    mlflow.log_param(f'lr_{epoch}', lr)\n    mlflow.set_tag('status', 'x')\n"
    )
    violations = engine.analyze(
        source,
        "t.py",
        build_settings(None, select=["MLF106"]).rules_for("t.py"),
        build_settings(None),
    )
    messages = [v.message for v in violations]
    helps = [v.help for v in violations]
    assert "logs the same param" in messages[0]
    assert "Changing param values is not allowed" in helps[0]
    assert "one request per item" in messages[1]
    assert "Collect the items into a dict" in helps[1]
    assert "sets the same tag" in messages[2] and "overwrites the tag" in helps[2]


def test_sweeps_and_callbacks_are_not_param_in_loop() -> None:
    sweep = (
        HEAD + "for lr in grid:\n    with mlflow.start_run():\n        mlflow.log_param('lr', lr)\n"
    )
    run_per_iteration = (
        HEAD
        + "for lr in grid:\n    run = mlflow.start_run()\n    mlflow.log_param('lr', lr)\n    mlflow.end_run()\n"
    )
    callback = (
        HEAD + "class CB:\n    def on_epoch_end(self, epoch):\n        mlflow.log_param('x', 1)\n"
    )
    for source in (sweep, run_per_iteration, callback):
        assert codes(source, "MLF106") == []


@pytest.mark.parametrize(
    "entered",
    ["tracker.start_run(run_name=str(lr))", "self.run_context(lr)", 'plugins["MLFlowPlugin"]'],
)
def test_a_context_named_for_a_run_opens_one_per_iteration(entered: str) -> None:
    """Whatever a `with` named for a run (or for MLflow) enters is defined elsewhere; each
    entry opens a run, so the param is logged once per run."""
    source = HEAD + f"for lr in grid:\n    with {entered}:\n        mlflow.log_param('lr', lr)\n"
    assert codes(source, "MLF106") == []
    # a context named for something else does not: the param is logged on every iteration
    timed = source.replace(entered, 'timer("lr")')
    assert codes(timed, "MLF106") == [4]


def test_images_in_a_loop_are_documents_not_small_artifacts() -> None:
    source = (
        HEAD
        + "for s in range(3):\n    mlflow.log_image(img, key='pred', step=s)\n    mlflow.log_image(img, f'img_{s}.png')\n"
    )
    assert codes(source, "MLF109") == []
    assert codes(source.replace("log_image(img, f", "log_text(txt, f"), "MLF109") == [4]


def test_log_table_same_file_gets_the_quadratic_message() -> None:
    source = HEAD + "for s in range(3):\n    mlflow.log_table(rows, artifact_file='t.json')\n"
    [violation] = engine.analyze(
        source,
        "t.py",
        build_settings(None, select=["MLF109"]).rules_for("t.py"),
        build_settings(None),
    )
    assert "downloads and re-uploads it" in violation.message


def test_batched_inner_loop_is_opt_in() -> None:
    source = (
        HEAD
        + "for e in range(2):\n    for b in range(3):\n        mlflow.log_metrics({'l': 1}, step=b)\n"
    )
    assert codes(source, "MLF901") == [4]
    assert [c for _, _, c in lint(source, select=None)] == []


# --- MLF107, MLF108 ------------------------------------------------------------------------------
def test_artifact_loop_fix_only_when_provable() -> None:
    plain = (
        HEAD + "import os\nfor f in os.listdir(d):\n    mlflow.log_artifact(os.path.join(d, f))\n"
    )
    assert (
        fixed(plain, "MLF107", unsafe=True)
        == HEAD + "import os\nmlflow.log_artifacts(local_dir=d)\n"
    )
    for filtered in (
        "import os\nfor f in os.listdir(d):\n    if f.endswith('.png'):\n        mlflow.log_artifact(os.path.join(d, f))\n",
        "import glob\nfor f in glob.glob('out/*.png'):\n    mlflow.log_artifact(f)\n",
        "import os\nfor f in os.listdir(d):\n    mlflow.log_artifact(os.path.join(other, f))\n",
        "import os\nfor f in os.listdir(d):\n    mlflow.log_artifact(os.path.join(d, f), artifact_path=f)\n",
    ):
        assert codes(HEAD + filtered, "MLF107"), filtered
        assert fixed(HEAD + filtered, "MLF107", unsafe=True) is None, filtered


def test_checkpoint_per_epoch_is_not_a_listing() -> None:
    source = HEAD + "for epoch in range(3):\n    mlflow.log_artifact(f'ckpt_{epoch}.pt')\n"
    assert codes(source, "MLF107") == []


def test_metric_without_step() -> None:
    flagged = HEAD + "for epoch in range(3):\n    mlflow.log_metric('loss', loss)\n"
    assert (
        fixed(flagged, "MLF108", unsafe=True)
        == HEAD + "for epoch in range(3):\n    mlflow.log_metric('loss', loss, step=epoch)\n"
    )
    for not_flagged in (
        "for epoch in range(3):\n    mlflow.log_metric('loss', loss, epoch)\n",  # positional step
        "for epoch in range(3):\n    mlflow.log_metric('loss', loss, **kw)\n",  # maybe in kwargs
        "for fold in range(3):\n    mlflow.log_metric(f'auc_{fold}', auc)\n",  # key per iteration
        "for cfg in grid:\n    with mlflow.start_run():\n        mlflow.log_metric('score', s)\n",
    ):
        assert codes(HEAD + not_flagged, "MLF108") == [], not_flagged
    nested = (
        HEAD
        + "for e in range(3):\n    for b in range(3):\n        mlflow.log_metric('loss', loss)\n"
    )
    assert codes(nested, "MLF108") == [4]
    assert fixed(nested, "MLF108", unsafe=True) is None  # no single obvious counter


def test_a_helper_that_opens_its_own_run_is_per_run_not_per_iteration() -> None:
    # found by the real-MLflow harness: a seed loop calling a helper that starts a run
    source = (
        HEAD
        + "def train_one(seed):\n"
        + "    with mlflow.start_run():\n"
        + "        mlflow.log_param('seed', seed)\n"
        + "        mlflow.log_metric('loss', 1.0)\n"
        + "def log_stats(x):\n"
        + "    mlflow.log_metric('x', x)\n"
        + "for seed in range(3):\n"
        + "    train_one(seed)\n"
        + "    log_stats(seed)\n"
    )
    assert codes(source, "MLF101") == [10]
    assert codes(source, "MLF106") == []


def test_comments_inside_call_arguments_follow_their_entry() -> None:
    # found by the mutation fuzzer: the merge rebuilt the calls from their keys and values
    source = epochs("mlflow.log_metric('a', 1)\nmlflow.log_metric(\n    'b',  # why b\n    2,\n)\n")
    assert fixed(source, "MLF102") == epochs(
        "mlflow.log_metrics(\n    {\n        'a': 1,\n        'b': 2,  # why b\n    },\n)\n"
    )
    loop = (
        HEAD
        + RUN
        + "    for k, v in flat_params.items():  # all of them\n        mlflow.log_param(k, v)\n"
    )
    assert codes(loop, "MLF105") == [3]
    assert (
        fixed(loop, "MLF105")
        == HEAD + RUN + "    # all of them\n    mlflow.log_params(flat_params)\n"
    )


def test_trailing_semicolons_survive_rewrites() -> None:
    # found by the mutation fuzzer: libcst's ranges stop before a trailing `;`
    source = (
        HEAD
        + "for i in range(3):\n    client = mlflow.MlflowClient()\n    mlflow.log_metric('x', 1, step=i);\n"
    )
    result = fixed(source, "MLF202")
    assert (
        result
        == HEAD
        + "client = mlflow.MlflowClient()\nfor i in range(3):\n    mlflow.log_metric('x', 1, step=i);\n"
    )
    # (a call between: with nothing that can fail there, MLF302 reports nothing)
    with_run = HEAD + "run = mlflow.start_run()\nx = compute();\nmlflow.end_run();\n"
    assert (
        fixed(with_run, "MLF302") == HEAD + "with mlflow.start_run() as run:\n    x = compute();\n"
    )


def test_buffering_keeps_the_calls_trailing_comment() -> None:
    source = (
        HEAD
        + RUN
        + "    for s in range(3):\n"
        + "        mlflow.log_metric('loss', 0.1, step=s)  # per batch\n"
        + "        train_step()\n"  # work between points: buffered, not one batch of all
    )
    result = fixed(source, "MLF101", unsafe=True)
    assert result is not None and "_metric_batch.append(" in result
    assert "# per batch\n" in result.split("_metric_batch.append(", 1)[1].split("if len(", 1)[0]


def test_a_loop_that_only_logs_becomes_one_batch_of_all_its_points() -> None:
    source = (
        HEAD
        + RUN
        + "    for s, loss in enumerate(history):  # per batch\n"
        + "        mlflow.log_metric('loss', loss, step=s)\n"
    )
    result = fixed(source, "MLF101", unsafe=True)
    assert result is not None and "_metric_batch" not in result
    assert "    # per batch\n    mlflow.MlflowClient().log_batch(\n" in result
    assert "            for s, loss in enumerate(history)\n" in result
    # read after the loop: its variables must stay bound, so the buffer it is
    after = source + "    print(loss)\n"
    assert "_metric_batch.append(" in (fixed(after, "MLF101", unsafe=True) or "")


# --- #12.4: a client call whose run changes on every iteration --------------------------------
@pytest.mark.parametrize(
    "loop",
    [
        "for run_id in run_ids:\n    client.set_tag(run_id, 'stage', 'done')\n",
        "for run in runs:\n    client.log_param(run.info.run_id, 'model', 'ridge')\n",
        # the run id through a name assigned in the loop
        "for run in runs:\n    rid = run.info.run_id\n    client.log_param(rid, 'model', 'ridge')\n",
    ],
)
def test_a_run_per_iteration_is_no_param_conflict(loop: str) -> None:
    source = HEAD + "client = mlflow.MlflowClient()\n" + loop
    assert codes(source, "MLF106") == []
    assert codes(source, "MLF301") == []


def test_a_loop_inside_one_run_still_conflicts() -> None:
    source = (
        HEAD
        + "client = mlflow.MlflowClient()\n"
        + "for run in runs:\n    for lr in rates:\n        client.log_param(run.info.run_id, 'lr', lr)\n"
    )
    assert codes(source, "MLF301") == [5]
    [violation] = [v for v in lint_violations(source, "MLF301")]
    assert "Changing param values is not allowed" in violation.help


def lint_violations(source: str, code: str) -> list:
    settings = build_settings(None, select=[code])
    return engine.analyze(textwrap.dedent(source), "t.py", settings.rules_for("t.py"), settings)


def test_mlf106_advice_names_the_client_batch() -> None:
    source = (
        HEAD
        + "client = mlflow.MlflowClient()\n"
        + "for k in flat_keys:\n    client.log_param(run_id, k, params[k])\n"
    )
    [violation] = lint_violations(source, "MLF106")
    assert "client.log_batch(run_id, params=[...])" in violation.help
    assert "mlflow.log_params" not in violation.help


# --- imports a fix adds: mlflow stays optional where it is optional --------------------------
OPTIONAL_MLFLOW = '''\
"""A callback of a library where mlflow is an optional dependency."""
import time

try:
    import mlflow
except ImportError:
    mlflow = None


class MlflowCallback:
    def __init__(self, run_id):
        from mlflow import MlflowClient

        self.client = MlflowClient()
        self.run_id = run_id

    def on_batch_end(self, logs):
        """Log the batch's metrics."""
        self.client.log_metric(self.run_id, "loss", logs["loss"])
        self.client.log_metric(self.run_id, "acc", logs["acc"])
'''


def test_an_import_from_an_optional_mlflow_goes_into_the_function() -> None:
    result = fixed(OPTIONAL_MLFLOW, "MLF102", unsafe=True)
    assert result is not None
    head, _, body = result.partition("def on_batch_end(self, logs):")
    assert "mlflow.entities" not in head  # importing the module never needs mlflow
    assert body.startswith(
        '\n        """Log the batch\'s metrics."""\n        from mlflow.entities import Metric\n'
    )
    compile(result, "callback.py", "exec")


def test_an_import_from_a_required_mlflow_goes_to_the_top_sorted() -> None:
    source = 'import os\n\nimport mlflow\n\n\ndef log_step(client: mlflow.MlflowClient, run_id):\n    client.set_tag(run_id, "a", "1")\n    client.set_tag(run_id, "b", "2")\n'
    result = fixed(source, "MLF104")
    assert result is not None
    assert result.startswith("import os\n\nimport mlflow\nfrom mlflow.entities import RunTag\n")


# --- a run per iteration opened without `with` ----------------------------------------------
MANUAL_RUN_PER_MODEL = """\
import mlflow


def fit(models, enabled):
    for name, model in models:
        try:
            if enabled:
                mlflow.start_run(run_name=name)
                mlflow.log_param("model_name", name)
            model.fit()
            mlflow.log_metric("fit_time", model.seconds)
            if enabled:
                mlflow.end_run()
        except Exception:
            if enabled:
                mlflow.end_run()
"""


def test_a_run_started_and_ended_in_each_iteration_is_per_run() -> None:
    """Each model gets its own run: nothing is logged twice to one run, no param changes."""
    assert lint(MANUAL_RUN_PER_MODEL) == []


def test_a_run_started_on_the_first_iteration_only_is_one_run() -> None:
    """Started under a guard and never ended in the body: the loop's calls share one run."""
    source = MANUAL_RUN_PER_MODEL.replace("mlflow.end_run()", "pass")
    assert "MLF301" in {code for _, _, code in lint(source)}
    assert codes(source, "MLF106") == [9]  # MLF301's when both are on: one finding


def test_a_call_in_an_except_handler_is_no_per_iteration_call() -> None:
    """A fallback or an error count runs when an iteration fails, not on every iteration."""
    source = """\
    import mlflow


    def train(loader, config):
        for batch in loader:
            try:
                mlflow.log_param("optimizer", config.optimizer)
            except mlflow.exceptions.MlflowException:
                mlflow.log_param("optimizer", str(config.optimizer)[:250])
            try:
                loss = batch.step()
            except ValueError:
                mlflow.log_metric("bad_batches", 1)
                continue
    """
    assert [(line, code) for line, _, code in lint(source)] == [(7, "MLF106")]


def test_item_by_item_after_a_failed_batch_is_an_error_path() -> None:
    """A loop in an `except` handler salvages the valid items once the batch failed."""
    source = """\
    import mlflow


    def log_scalars(values, step):
        try:
            mlflow.log_metrics(values, step=step)
        except mlflow.exceptions.MlflowException:
            for key, value in values.items():
                try:
                    mlflow.log_metric(key, float(value), step=step)
                except ValueError:
                    pass
    """
    assert lint(source) == []


def test_code_after_an_unconditional_continue_never_runs() -> None:
    source = """\
    import mlflow


    def last_values(client, runs, keys):
        for run in runs:
            for key in keys:
                continue
                client.get_metric_history(run.info.run_id, key)
                mlflow.log_metric(key, 1.0)
    """
    assert lint(source) == []
    assert lint(source.replace("continue", "pass"))


def test_test_code_may_log_point_by_point() -> None:
    source = """\
    import mlflow


    def test_history_keeps_duplicates():
        with mlflow.start_run():
            for step in range(3):
                mlflow.log_metric("loss", 1.0, step=step)
    """
    assert lint(source, select=["MLF101"]) == []
    assert lint(source.replace("def test_", "def make_"), select=["MLF101"])


@pytest.mark.parametrize(
    ("loop", "advice"),
    [
        # one metric over many steps: log_metrics cannot merge it, buffer for log_batch
        ("for step in range(n):\n        mlflow.log_metric('loss', 0.1, step=step)", "buffer"),
        # the keys of a mapping or a range: distinct, one log_metrics dict per step
        (
            "for name, value in scores.items():\n        mlflow.log_metric(name, value, step=s)"
            "\n        print(name)",
            "dict",
        ),
        ("for i in range(n):\n        mlflow.log_metric(f'layer_{i}', 0.1, step=s)", "dict"),
        ("for k in scores:\n        mlflow.log_metric(f'm/{k}', scores[k], step=s)", "dict"),
        # keys read from records may repeat: a dict would keep one point per key
        ("for p in points:\n        mlflow.log_metric(p['name'], p['value'])", "records"),
        # through a helper handed each entry's key: distinct keys at one step too
        ("for k, v in scores.items():\n        log_one(k, v)", "dict"),
        ("for k in scores.keys():\n        log_one(k, scores[k])", "dict"),
        # a helper handed the values alone logs its own key: one metric over the items
        ("for v in scores.values():\n        log_one('loss', v)", "buffer"),
        # a helper handed the same step on every iteration: several metrics at that step,
        # whose keys it reads from each item (they may repeat)
        ("for cb in callbacks:\n        log_outputs(cb, step=s)", "records"),
        # ... and one handed the item as its step logs a history
        ("for i in range(n):\n        log_outputs(cb, step=i)", "buffer"),
        # the loop already sends a log_metrics call on each iteration: the metric joins it
        (
            "for i in range(n):\n        mlflow.log_metric('cost', 0.1)"
            "\n        if s:\n            mlflow.log_metrics({'a': 1.0}, i)",
            "join",
        ),
    ],
)
def test_metric_in_loop_advice_follows_the_loop_shape(loop: str, advice: str) -> None:
    # named for a step: called on each one (not a loop over names that runs once per run)
    source = f"import mlflow\n\ndef on_step_end(points, scores, n, s, callbacks, cb):\n    {loop}\n"
    source += "\n\ndef log_one(key, value):\n    mlflow.log_metric(key, value, step=0)\n"
    source += (
        "\n\ndef log_outputs(cb, step):\n    mlflow.log_metric(cb.name, cb.value, step=step)\n"
    )
    settings = build_settings(None, select=["MLF101"])
    [violation] = engine.analyze(source, "t.py", settings.rules_for("t.py"), settings)
    help = violation.help
    if advice == "buffer":
        assert help.startswith("Buffer the points") and "log_metrics` cannot merge" in help
    elif advice == "dict":
        assert help.startswith("Log each step's metrics together in one `mlflow.log_metrics")
    elif advice == "join":
        assert help.startswith("This loop already calls `mlflow.log_metrics(...)`: log this")
    else:
        assert help.startswith("Send the points together") and "which keeps every point" in help


def test_a_metric_beside_a_nested_loop_at_the_same_step_joins_its_dict() -> None:
    # found judging real code: a sweep logs its parameter once per point and the point's
    # results key by key, all at the point's step; that is several metrics per step, so the
    # advice is one log_metrics dict per step, not a buffer for one metric's history
    source = """\
import mlflow

def sweep_step_end(points, simulate):
    for step, field in enumerate(points):
        results = simulate(field)
        mlflow.log_metric("field", field, step=step)
        for name in sorted(results):
            mlflow.log_metric(name, float(results[name]), step=step)
"""
    settings = build_settings(None, select=["MLF101"])
    found = engine.analyze(source, "t.py", settings.rules_for("t.py"), settings)
    assert [v.line for v in found] == [6, 8]
    assert found[0].help.startswith("Log each step's metrics together in one `mlflow.log_metric")
    # the results logged by a loop over their mapping (MLF105's finding) count as well
    mapping = source.replace(
        "for name in sorted(results):\n            mlflow.log_metric(name, float(results[name]), step=step)",
        "for name, value in results.items():\n            mlflow.log_metric(name, value, step=step)",
    )
    assert "results.items()" in mapping
    settings_all = build_settings(None, select=["MLF101", "MLF105"])
    found = engine.analyze(mapping, "t.py", settings_all.rules_for("t.py"), settings_all)
    assert [(v.line, v.code) for v in found] == [(6, "MLF101"), (7, "MLF105")]
    assert found[0].help.startswith("Log each step's metrics together in one `mlflow.log_metric")
    # results logged at steps of their own are another metric's history: still buffered
    apart = source.replace("[name]), step=step)", "[name]), step=step * 100 + len(name))")
    found = engine.analyze(apart, "t.py", settings.rules_for("t.py"), settings)
    assert found[0].line == 6 and found[0].help.startswith("Buffer the points")


def test_a_batch_loop_with_a_loop_over_its_callbacks_is_still_per_batch() -> None:
    # the epoch-level exemption looks for a per-batch loop inside the loop; a loop named for
    # batches is that loop itself, whatever it runs on each batch
    source = """\
import mlflow

def train_one_epoch(model, loader, callbacks):
    for batch_idx, (inputs, targets) in enumerate(loader):
        loss = model.step(inputs, targets)
        mlflow.log_metric("train_loss", loss, step=batch_idx)
        for callback in callbacks:
            callback.on_batch_end(batch_idx, loss)
"""
    settings = build_settings(None, select=["MLF101"])
    found = engine.analyze(source, "t.py", settings.rules_for("t.py"), settings)
    assert [v.line for v in found] == [6]
    # named for epochs, the same loop is the epoch level MLflow recommends: not reported
    epochs = source.replace("batch_idx", "epoch")
    assert engine.analyze(epochs, "t.py", settings.rules_for("t.py"), settings) == []


def test_a_function_held_on_an_object_is_merged_through_the_module() -> None:
    # found judging real code: `self.log_metric = mlflow.log_metric` gives the object no
    # `log_metrics`; the advice and the fix spell the batch call through the module
    source = (
        HEAD
        + "class Logger:\n"
        + "    def __init__(self):\n        self.log_metric = mlflow.log_metric\n"
        + "    def on_batch_end(self, step, lr, loss):\n"
        + "        self.log_metric('lr', lr, step=step)\n"
        + "        self.log_metric('loss', loss, step=step)\n"
    )
    [violation] = lint_violations(source, "MLF102")
    assert "mlflow.log_metrics({...}, step=step)" in violation.help
    assert "self.log_metrics" not in violation.help
    result = fixed(source, "MLF102", unsafe=True)
    assert result is not None and "self.log_metrics" not in result
    assert "mlflow.log_metrics({'lr': lr, 'loss': loss}, step=step)" in result
    # a name bound to the module keeps its spelling
    held = source.replace("self.log_metric = mlflow.log_metric", "self.tracking = mlflow")
    held = held.replace("self.log_metric(", "self.tracking.log_metric(")
    assert "self.tracking.log_metrics(" in (fixed(held, "MLF102", unsafe=True) or "")


def test_a_param_whose_value_changes_with_the_loop_is_one_finding() -> None:
    """`log_param("model_name", name)` in a loop over models, in one run: the second
    iteration raises. MLF301 says so; MLF106's "same param on every iteration" would be
    the same problem told less precisely. With MLF301 off, MLF106 still reports it, with the
    next line's param as one finding: the same params logged again on every iteration."""
    source = """\
    import mlflow

    def compare(models, data):
        with mlflow.start_run():
            for name, model in models.items():
                model.fit(data)
                mlflow.log_param("model_name", name)
                mlflow.log_param("framework", "sklearn")
    """
    found = lint(source, select=["MLF106", "MLF301"])
    assert [(line, code) for line, _, code in found] == [(7, "MLF301"), (8, "MLF106")]
    assert codes(source, "MLF106") == [7]


@pytest.mark.parametrize("value", ["EPOCHS", "args.epochs"])
def test_the_same_name_logged_twice_is_the_same_value_unless_rebound(value: str) -> None:
    """Two `log_param("epochs", EPOCHS)` calls in one run read one value when the run's
    block never assigns the name (a module constant, a parsed option): MLflow accepts the
    second as a no-op. Assigned in between, the value may differ: still reported."""
    source = f"""\
    import mlflow

    def train(args):
        with mlflow.start_run():
            mlflow.log_param("epochs", {value})
            fit(args)
            mlflow.log_param("epochs", {value})
    """
    assert codes(source, "MLF301") == []
    rebound = source.replace("fit(args)", f"{value} = {value} * 2")
    assert codes(rebound, "MLF301") == [7]
    looped = source.replace("fit(args)", f"for {value} in range(3): pass")
    assert codes(looped, "MLF301") == [7]


def test_a_metric_logged_per_named_entry_is_told_a_key_per_entry() -> None:
    """A loop over models by name logs `accuracy` on each: the points pile on step 0, and a
    step would plot the models as time. The advice is a key (or a child run) per entry."""
    source = """\
    import mlflow

    with mlflow.start_run():
        for name, model in models.items():
            mlflow.log_metric("accuracy", model.score())
        for epoch in range(3):
            mlflow.log_metric("loss", 1.0)
    """
    found = lint_violations(source, "MLF108")
    assert [v.line for v in found] == [5, 7]
    assert 'f"{name}_accuracy"' in found[0].help and "nested=True" in found[0].help
    assert found[0].fix is None
    assert "step=epoch" in found[1].help


def test_the_same_call_in_both_branches_of_an_if_in_a_loop_is_one_finding() -> None:
    """`log_metric(k, v, step=step)` when there is a step, else `log_metric(k, v)`: one
    request per iteration either way, so one finding, and the loop's fix covers both."""
    source = """\
    import mlflow

    def log_metrics(metrics, step=None):
        for key, value in metrics.items():
            if step is not None:
                mlflow.log_metric(key, value, step=step)
            else:
                mlflow.log_metric(key, value)
    """
    assert codes(source, "MLF101") == [6]
    # both branches' calls in one iteration (no `else`): two requests, two findings
    both = source.replace("            else:\n", "").replace(
        "                mlflow.log_metric(key, value)\n",
        "            mlflow.log_metric(key, value)\n",
    )
    assert codes(both, "MLF101") == [6, 7]


def test_a_param_logged_in_both_branches_of_an_if_in_a_loop_is_one_finding() -> None:
    """`log_param(k, v)` for a scalar, else `log_param(k, str(v))`: one request per item
    either way, one finding (at the first). Two calls at adjacent lines are one finding
    too, spanning both."""
    source = """\
    import mlflow

    def log_config(config):
        for key, value in config.items():
            if isinstance(value, (str, int, float)):
                mlflow.log_param(key, value)
            else:
                mlflow.log_param(key, str(value))
        for key in config:
            mlflow.set_tag(key, "a")
            mlflow.set_tag(key + "_b", "b")

    for trial in range(20):  # once per trial: the loops repeat
        log_config({"trial": trial})
    """
    assert codes(source, "MLF106") == [6, 10]
    [tags] = [v for v in lint_violations(source, "MLF106") if v.line == 10]
    assert tags.message == "2 `mlflow.set_tag` calls in a loop send 2 requests per item"
    assert tags.end_line == 11


@pytest.mark.parametrize(
    "loop",
    [
        "for t in range(epochs):",
        "for t in range(1, args.num_epochs + 1):",
        "for t in tqdm(range(cfg.epochs)):",
    ],
)
def test_a_loop_that_counts_epochs_is_the_epoch_level(loop: str) -> None:
    """`for t in range(epochs)` runs once per epoch, whatever its variable is called: one
    metric per epoch there is the granularity MLflow recommends. A count of anything else
    is still a loop that logs on every iteration."""
    source = f"""\
import mlflow

def fit(model, epochs, args, cfg):
    {loop}
        acc = model.train_one_epoch()
        mlflow.log_metric("best_acc", acc, step=t)
"""
    settings = build_settings(None, select=["MLF101"])
    assert engine.analyze(source, "t.py", settings.rules_for("t.py"), settings) == []
    other = source.replace("epochs", "trials")
    found = engine.analyze(other, "t.py", settings.rules_for("t.py"), settings)
    assert [v.line for v in found] == [6]


def test_branches_of_one_if_at_different_depths_are_one_finding_the_deepest() -> None:
    """A boosting callback logs the loss series under "Loss" (a guard that holds once per
    inner loop) and every other series under its own name: one call or the other runs on
    each inner iteration, so one finding, at the call the inner loop repeats."""
    source = """\
    import mlflow

    def log_iteration(metrics, loss_name):
        for dataset, series_by_name in metrics.items():
            for series, values in series_by_name.items():
                if series == loss_name:
                    mlflow.log_metric("Loss", values[-1])
                else:
                    mlflow.log_metric(series, values[-1])
    """
    assert codes(source, "MLF101") == [9]
    [found] = lint_violations(source, "MLF108")
    assert "step=" in found.help  # `dataset` is not what "Loss" is about: no per-entry key


def test_a_scripts_loop_over_a_few_written_out_names_is_like_written_out_calls() -> None:
    """A training script logs four named results from a written-out list, once per run: as
    many requests as four written-out calls, which MLF102 does not report in a script's own
    code either; so are ten (a script's own loop over names runs once per run). The same
    loop in an epoch loop, or in a function called per step, is still reported."""
    source = """\
    import mlflow

    with mlflow.start_run():
        for key in ["precision", "recall", "mAP50", "mAP50-95"]:
            mlflow.log_metric(key, results[key])
    """
    assert codes(source, "MLF101") == []
    ten = source.replace(
        '["precision", "recall", "mAP50", "mAP50-95"]', str([f"m{i}" for i in range(10)])
    )
    assert codes(ten, "MLF101") == []
    per_epoch = """\
    import mlflow

    with mlflow.start_run():
        for epoch in range(epochs):
            for key in ["precision", "recall", "mAP50", "mAP50-95"]:
                mlflow.log_metric(key, evaluate(key), step=epoch)
    """
    assert codes(per_epoch, "MLF101") == [6]


ADJACENT_CONSTANTS = """\
import mlflow

def train(model, epochs, lr, seed):
    with mlflow.start_run():
        for epoch in range(epochs):
            mlflow.log_param("lr", lr)
            # a comment between them keeps them adjacent
            mlflow.log_param("seed", seed)
            model.fit()
            mlflow.log_param("optimizer", "adam")
            mlflow.log_metric("acc", model.acc)
            mlflow.log_metric("loss", model.loss)
"""


def test_adjacent_calls_with_one_problem_in_one_loop_are_one_finding() -> None:
    """A block of constant params re-logged in a loop is one problem (hoist the block), and
    so is a block of metrics without a step (pass the step to each): one finding each,
    spanning the block, where a statement in between starts a new one."""
    params = lint_violations(ADJACENT_CONSTANTS, "MLF106")
    assert [(v.line, v.end_line) for v in params] == [(6, 8), (10, 10)]
    assert params[0].message == (
        "2 `mlflow.log_param` calls in a loop log the same params on every iteration"
    )
    assert "Log them once before the loop" in params[0].help
    assert (
        params[1].message == "`mlflow.log_param` in a loop logs the same param on every iteration"
    )
    [metrics] = lint_violations(ADJACENT_CONSTANTS, "MLF108")
    assert (metrics.line, metrics.end_line) == (11, 12)
    assert metrics.message.startswith("2 `mlflow.log_metric` calls log the same keys in a loop")
    # its fix passes the step to every call of the block
    fixed_text = fixed(ADJACENT_CONSTANTS, "MLF108", unsafe=True) or ""
    assert 'mlflow.log_metric("acc", model.acc, step=epoch)' in fixed_text
    assert 'mlflow.log_metric("loss", model.loss, step=epoch)' in fixed_text


def test_calls_in_different_loops_or_blocks_are_not_one_finding() -> None:
    source = """\
    import mlflow

    def train(model, epochs, folds, lr):
        for epoch in range(epochs):
            mlflow.log_param("lr", lr)
            for fold in folds:
                mlflow.log_param("folds", len(folds))
            if model.done:
                mlflow.log_param("done", True)
    """
    assert [v.line for v in lint_violations(source, "MLF106")] == [5, 7, 9]


def test_a_param_logged_on_the_iteration_that_ends_the_loop_is_logged_once() -> None:
    """An early stop logs the epoch it stopped at, then leaves the loop: the value is one of
    many, but it is logged once. The same call on every iteration raises on the second."""
    source = """\
    import mlflow

    def train(model, epochs, stopper):
        with mlflow.start_run():
            for epoch in range(epochs):
                if stopper.step(model.fit()):
                    mlflow.log_param("stopped_epoch", epoch)
                    break
                mlflow.log_param("last_epoch", epoch)
    """
    assert lint(source, select=["MLF301", "MLF106"]) == [(9, 13, "MLF301")]


def test_metrics_logged_at_one_step_of_a_loop_are_one_finding() -> None:
    """Each field of a history row logged under its own `if` at the row's step: one
    `log_metrics` per step fixes every call, so they are one finding, first call to last."""
    source = """\
    import mlflow

    def replay(rows):
        with mlflow.start_run():
            for row in rows:
                step = row["step"]
                if "loss" in row:
                    mlflow.log_metric("loss", row["loss"], step=step)
                if "lr" in row:
                    mlflow.log_metric("lr", row["lr"], step=step)
                print(step)
                if "grad_norm" in row:
                    mlflow.log_metric("grad_norm", row["grad_norm"], step=step)
    """
    [finding] = lint_violations(source, "MLF101")
    assert (finding.line, finding.end_line) == (8, 13)
    assert (
        finding.message
        == "3 `mlflow.log_metric` calls at one step in a loop: 3 requests per iteration"
    )
    assert "one `mlflow.log_metrics({...}, step=...)`" in finding.help
    # at different steps they are different problems
    apart = source.replace('row["lr"], step=step', 'row["lr"], step=step + 1')
    assert [v.line for v in lint_violations(apart, "MLF101")] == [8, 10]


def test_adjacent_metrics_in_a_loop_that_waits_on_each_iteration_are_held_like_set_up_code() -> (
    None
):
    """A monitoring or demo loop that sleeps between steps sends its requests a few at a time,
    at the pace of the wait: MLF102 holds its pair to `min-calls-once`, as MLF101 does not
    report such a loop. Without the wait, the pair at each step is reported."""
    source = """\
    import time
    import mlflow

    def monitor(model, steps):
        with mlflow.start_run():
            for step in range(steps):
                loss, acc = model.step()
                mlflow.log_metric("loss", loss, step=step)
                mlflow.log_metric("acc", acc, step=step)
                time.sleep(0.5)
    """
    assert lint(source, select=["MLF101", "MLF102"]) == []
    unpaced = source.replace("time.sleep(0.5)", "print(step)")
    assert lint(unpaced, select=["MLF101", "MLF102"]) == [(8, 13, "MLF102")]


# --- MLF301: a branch that returns after logging ends the function's pass ---------------------
RETURNS_EARLY = """\
def load(cached, path):
    if cached is not None:
        mlflow.log_param("source", "cache")
        mlflow.log_param("rows", len(cached))
        {leave}
    mlflow.log_param("source", "file")
    mlflow.log_param("rows", count(path))
"""


@pytest.mark.parametrize("leave", ["return cached", "raise ValueError('cached')"])
def test_a_param_logged_in_a_branch_that_returns_is_not_logged_again_after_it(leave: str) -> None:
    assert codes(HEAD + RETURNS_EARLY.format(leave=leave), "MLF301") == []


@pytest.mark.parametrize(
    "source",
    [
        # no return: both run
        RETURNS_EARLY.format(leave="print('cached')"),
        # the return is in a loop that runs the later call on an earlier iteration
        "def load(sources):\n    for s in sources:\n        if s.cached:\n"
        "            mlflow.log_param('source', 'cache')\n            return\n"
        "        mlflow.log_param('source', 'file')\n",
        # a raise that the function's own `try` catches goes on to the later call
        "def load(cached):\n    try:\n        if cached:\n"
        "            mlflow.log_param('source', 'cache')\n            raise ValueError\n"
        "    except ValueError:\n        pass\n    mlflow.log_param('source', 'file')\n",
    ],
)
def test_a_branch_that_does_not_leave_the_function_still_conflicts(source: str) -> None:
    assert codes(HEAD + source, "MLF301") != []


# --- MLF102-MLF104 at the epoch level: fewer than five calls are not reported -------------------
PAIR = 'mlflow.log_metric("a", x, step=epoch)\nmlflow.log_metric("b", y, step=epoch)\n'
FIVE = "".join(f'mlflow.log_metric("m{i}", x, step=epoch)\n' for i in range(5))


def in_epoch_loop(body: str) -> str:
    """`body` in an epoch loop that trains: a per-batch loop of its own before it."""
    return (
        HEAD
        + "for epoch in range(10):\n    for batch in loader:\n        train(batch)\n"
        + textwrap.indent(body, "    ")
    )


@pytest.mark.parametrize(
    "source",
    [
        in_epoch_loop(PAIR),
        # an epoch loop that calls the training function of each epoch
        HEAD
        + "for epoch in range(10):\n    x, y = train_one_epoch(model)\n"
        + textwrap.indent(PAIR, "    "),
        # a hook named for an epoch, or handed one (and no step)
        HEAD + "def on_epoch_end(epoch, x, y):\n" + textwrap.indent(PAIR, "    "),
        HEAD + "def log_training_metrics(epoch, x, y):\n" + textwrap.indent(PAIR, "    "),
        # after the per-batch loop of a function that trains one epoch
        HEAD + "def train_step(model, loader, epoch):\n    for batch in loader:\n"
        "        x, y = model.step(batch)\n" + textwrap.indent(PAIR, "    "),
    ],
)
def test_a_few_calls_once_per_epoch_are_not_reported(source: str) -> None:
    assert codes(source, "MLF102") == []


@pytest.mark.parametrize(
    "source",
    [
        in_epoch_loop(FIVE),  # five or more: reported at the epoch level too
        # a loop that only replays what it holds, whatever its variable says: one burst
        HEAD + "for epoch, (x, y) in enumerate(history):\n" + textwrap.indent(PAIR, "    "),
        # a hook named for a batch, or handed a step
        HEAD + "def on_train_batch_end(epoch, x, y):\n" + textwrap.indent(PAIR, "    "),
        HEAD + "def log_metrics(epoch, step, x, y):\n" + textwrap.indent(PAIR, "    "),
    ],
)
def test_calls_per_step_or_many_per_epoch_are_reported(source: str) -> None:
    assert codes(source, "MLF102") != []


def test_min_calls_epoch_option_reaches_the_rule(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text(in_epoch_loop(PAIR))
    assert run_cli("check", "--select", "MLF102", ".", cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text("[tool.mlflow-lint.MLF102]\nmin-calls-epoch = 2\n")
    assert run_cli("check", "--select", "MLF102", ".", cwd=tmp_path).returncode == 1
