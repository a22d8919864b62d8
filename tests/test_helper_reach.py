"""Loop rules see MLflow calls made by functions defined in the same module and called from
the loop body, and their messages name the chain (issue #7): the LoopCallRule rules (MLF101,
MLF106, MLF108, MLF109, MLF201, MLF901), MLF107, MLF202 and MLF303."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from mlflow_lint import engine
from mlflow_lint.config import build_settings


def findings(source: str, code: str, **options: object) -> list[tuple[int, str]]:
    settings = build_settings(None, select=[code])
    if options:
        settings = dataclasses.replace(settings, rule_options={code: options})
    text = textwrap.dedent(source)
    return [
        (v.line, v.message)
        for v in engine.analyze(text, "t.py", settings.rules_for("t.py"), settings)
    ]


@pytest.mark.parametrize(
    ("code", "call", "chain"),
    [
        ("MLF101", 'mlflow.log_metric("loss", v)', "train_epoch -> log_stats -> mlflow.log_metric"),
        ("MLF106", 'mlflow.log_param("p", v)', "train_epoch -> log_stats -> mlflow.log_param"),
        ("MLF201", 'mlflow.get_run("r")', "train_epoch -> log_stats -> mlflow.get_run"),
    ],
)
def test_loop_rules_name_the_chain(code: str, call: str, chain: str) -> None:
    source = f"""
    import mlflow
    def log_stats(v):
        {call}
    def train_epoch(v):
        log_stats(v)
    for step in range(3):
        train_epoch(step)
    """
    (found,) = findings(source, code)
    assert found[0] == 8 and f"`{chain}`" in found[1], found


def test_a_helper_defined_after_its_caller_is_seen() -> None:
    source = """
    import mlflow
    def train():
        for step in range(3):
            log_stats(step)
    def log_stats(v):
        mlflow.log_metric("loss", v)
    """
    (found,) = findings(source, "MLF101")
    assert found[0] == 5 and "`log_stats -> mlflow.log_metric`" in found[1], found


def test_upload_through_a_helper_in_a_listing_loop() -> None:
    source = """
    import os
    import mlflow
    def main():
        for name in os.listdir("plots"):
            upload(os.path.join("plots", name))
    def upload(path):  # defined after its caller: main() runs later
        mlflow.log_artifact(path, "plots")
    """
    (found,) = findings(source, "MLF107")
    assert found[0] == 6 and "`upload -> mlflow.log_artifact`" in found[1], found


def test_upload_through_a_helper_outside_a_listing_loop_is_fine() -> None:
    source = """
    import mlflow
    def upload(path):
        mlflow.log_artifact(path)
    for path in ["a.txt", "b.txt"]:
        upload(path)
    """
    assert findings(source, "MLF107") == []


def test_client_built_by_a_helper_on_every_iteration() -> None:
    source = """
    import mlflow
    def tag(run_id, key):
        client = mlflow.MlflowClient()
        client.set_tag(run_id, key, "done")
    for run_id in finished_run_ids():
        tag(run_id, "checked")
    """
    (found,) = findings(source, "MLF202", **{"through-helpers": True})
    assert found[0] == 7 and "`tag` constructs an `MlflowClient()`" in found[1], found
    assert findings(source, "MLF202") == []  # off by default


def test_helper_given_a_client_is_fine() -> None:
    source = """
    import mlflow
    def tag(client, run_id):
        client.set_tag(run_id, "k", "done")
    client = mlflow.MlflowClient()
    for run_id in ["a", "b"]:
        tag(client, run_id)
    """
    assert findings(source, "MLF202") == []


def test_helper_that_starts_a_run_per_iteration_without_ending_it() -> None:
    source = """
    import mlflow
    def train_fold(fold):
        mlflow.start_run(run_name=f"fold-{fold}")
        mlflow.log_metric("fold", fold)
    for fold in range(5):
        train_fold(fold)
    """
    (found,) = findings(source, "MLF303")
    assert found[0] == 7 and "`train_fold -> mlflow.start_run()` in a loop" in found[1], found


@pytest.mark.parametrize(
    "source",
    [
        # the helper's run is context-managed
        """
        import mlflow
        def train_fold(fold):
            with mlflow.start_run(run_name=f"fold-{fold}"):
                mlflow.log_metric("fold", fold)
        for fold in range(5):
            train_fold(fold)
        """,
        # the helper ends its run
        """
        import mlflow
        def train_fold(fold):
            mlflow.start_run()
            mlflow.log_metric("fold", fold)
            mlflow.end_run()
        for fold in range(5):
            train_fold(fold)
        """,
        # the loop ends it
        """
        import mlflow
        def train_fold(fold):
            mlflow.start_run()
        for fold in range(5):
            train_fold(fold)
            mlflow.end_run()
        """,
        # a child run on purpose
        """
        import mlflow
        def train_fold(fold):
            mlflow.start_run(nested=True)
        with mlflow.start_run():
            for fold in range(5):
                train_fold(fold)
                mlflow.end_run()
        """,
    ],
)
def test_helpers_whose_runs_end_are_fine(source: str) -> None:
    assert findings(source, "MLF303") == []


@pytest.mark.parametrize(
    "source",
    [
        # read in the body before the assignment: the first iteration sees the outer client
        """
        import mlflow
        client = mlflow.MlflowClient()
        for i in range(2):
            client.log_metric("r", "a", i)
            client = mlflow.MlflowClient()
        """,
        # read by the loop's header
        """
        import mlflow
        client = mlflow.MlflowClient()
        for run in client.search_runs(["0"]):
            client = mlflow.MlflowClient()
            client.set_tag(run.info.run_id, "k", "v")
        """,
    ],
)
def test_client_read_before_its_assignment_is_not_hoisted(source: str) -> None:
    """Found by the mutation fuzzer: hoisting would change which client the first iteration
    uses (or make an UnboundLocalError disappear)."""
    settings = build_settings(None, select=["MLF202"])
    text = textwrap.dedent(source)
    (found,) = engine.analyze(text, "t.py", settings.rules_for("t.py"), settings)
    assert found.code == "MLF202" and found.fix is None


# --- a recursive walk of a nested config is one problem ----------------------------------------
RECURSIVE_CONFIG = """
import mlflow

def log_tree(prefix, node):
    if isinstance(node, dict):
        for key, value in node.items():
            log_tree(f"{prefix}.{key}", value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            log_tree(f"{prefix}.{index}", value)
    else:
        mlflow.log_param(prefix, node)
"""


def test_a_recursive_walk_is_reported_once_at_the_loop_that_starts_it() -> None:
    called_in_a_loop = (
        RECURSIVE_CONFIG
        + """
def log_config(config):
    for name, value in config.items():
        log_tree(name, value)
"""
    )
    assert [line for line, _ in findings(called_in_a_loop, "MLF106")] == [16]
    # started once, outside any loop: the recursion's first loop reports it
    started_once = (
        RECURSIVE_CONFIG
        + """
def log_config(config):
    log_tree("config", config)
"""
    )
    assert [line for line, _ in findings(started_once, "MLF106")] == [7]


def test_a_helper_that_creates_a_run_logs_once_per_run_not_per_iteration() -> None:
    """Each call of `migrate` creates a run and tags it (through another helper): a loop
    over the sources makes one run each, and nothing collects across iterations."""
    source = """
    from mlflow import MlflowClient

    client = MlflowClient()

    def tag_source(run_id, source):
        client.set_tag(run_id, "source", source)

    def migrate(source, experiment_id):
        run = client.create_run(experiment_id)
        tag_source(run.info.run_id, source)
        client.log_param(run.info.run_id, "origin", source)

    def migrate_all(sources, experiment_id):
        for source in sources:
            migrate(source, experiment_id)
    """
    assert findings(source, "MLF106") == []
    # the same helpers without the run they create: one run, tagged on every iteration
    shared_run = source.replace(
        "run = client.create_run(experiment_id)", "run = client.get_run(experiment_id)"
    )
    assert [line for line, _ in findings(shared_run, "MLF106")] == [16]


def test_a_loop_calling_a_helper_whose_own_loop_is_reported_echoes_it() -> None:
    """One problem, one finding: the helper's loop over the items is where the requests
    multiply and where the batch goes; the loop over trials that calls it echoes it."""
    source = """
    import mlflow

    def log_one(key, value):
        mlflow.log_metric(key, value, step=0)

    def on_step_end(scores):
        for key, value in scores.items():
            log_one(key, value)

    def replay(history):
        for scores in history:
            on_step_end(scores)
    """
    assert [line for line, _ in findings(source, "MLF101")] == [9]
    # a helper whose calls are not in a loop of its own is reported where it is looped over
    flat = source.replace(
        "for key, value in scores.items():\n            log_one(key, value)",
        "log_one('loss', scores['loss'])",
    )
    assert [line for line, _ in findings(flat, "MLF101")] == [12]
