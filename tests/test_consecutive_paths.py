"""MLF102-MLF104 report adjacent calls where merging them saves requests that matter (issue
#12): a few calls that run once per run (in a set-up function, or in a script's own
top-level code and a notebook's cells) save a few requests, which real-code judging found
not worth a finding, so fewer than ten are not reported there (option `min-calls-once`). On
a path that repeats within a run (a loop, a metric logged per step, a function called in a
loop or named for a step, batch or epoch) two calls are reported. Calls in an exception
handler (an error path) and in test code are not reported."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from mlflow_lint import engine
from mlflow_lint.config import build_settings


def codes(source: str, path: str = "train.py", **options: object) -> list[tuple[int, str]]:
    settings = build_settings(None, select=["MLF102", "MLF103", "MLF104", "MLF101", "MLF106"])
    if options:
        settings = dataclasses.replace(
            settings, rule_options={code: options for code in ("MLF102", "MLF103", "MLF104")}
        )
    text = textwrap.dedent(source)
    return [
        (v.line, v.code) for v in engine.analyze(text, path, settings.rules_for(path), settings)
    ]


ONCE_PAIRS = {
    "set-up helper": """
        import mlflow
        def log_git(branch, dirty):
            mlflow.set_tag("git_branch", branch)
            mlflow.set_tag("git_dirty", str(dirty))
        def main():
            log_git("main", False)
    """,
    "script": """
        import mlflow
        with mlflow.start_run():
            mlflow.log_param("model", "resnet")
            mlflow.log_param("epochs", 3)
    """,
    "client at task end": """
        from mlflow import MlflowClient
        class Tracker:
            def __init__(self):
                self.client = MlflowClient()
            def on_task_end(self, run_id, total, done):
                self.client.log_metric(run_id, "samples_total", total)
                self.client.log_metric(run_id, "samples_done", done)
    """,
    # a function that opens the run itself: each call is a run of its own, whatever it is
    # named for (here a batch of classified items, one run per job)
    "own run named for a batch": """
        import mlflow
        def log_classification_batch(items, confidence):
            with mlflow.start_run():
                mlflow.log_metric("total_items", len(items))
                mlflow.log_metric("avg_confidence", confidence)
    """,
}


@pytest.mark.parametrize("source", ONCE_PAIRS.values(), ids=ONCE_PAIRS.keys())
def test_two_calls_once_per_run_are_not_reported(source: str) -> None:
    assert codes(source) == []
    # the option brings them back
    assert len(codes(source, **{"min-calls-once": 2})) == 1


def test_fewer_than_ten_calls_once_per_run_are_not_reported() -> None:
    # hand-judged on real code: a few requests saved once per run are not worth a finding
    tags = "\n".join(f'    mlflow.set_tag("k{i}", v{i})' for i in range(9))
    source = f"import mlflow\ndef log_git({', '.join(f'v{i}' for i in range(9))}):\n{tags}\n"
    assert codes(source) == []
    assert codes(source, **{"min-calls-once": 9}) == [(3, "MLF104")]


def test_ten_calls_once_per_run_are_reported() -> None:
    tags = "\n".join(f'    mlflow.set_tag("k{i}", v{i})' for i in range(10))
    source = f"import mlflow\ndef log_git({', '.join(f'v{i}' for i in range(10))}):\n{tags}\n"
    assert codes(source) == [(3, "MLF104")]
    assert codes(source, **{"min-calls-once": 11}) == []


REPEATED_PAIRS = {
    "in a loop": """
        import mlflow
        for epoch in range(10):
            mlflow.log_metric("loss", 0.1, step=epoch)
            mlflow.log_metric("acc", 0.9, step=epoch)
    """,
    "per step": """
        import mlflow
        def log_stats(loss, acc, step):
            mlflow.log_metric("loss", loss, step=step)
            mlflow.log_metric("acc", acc, step=step)
    """,
    "helper called in a loop": """
        import mlflow
        def log_stats(loss, acc):
            mlflow.log_metric("loss", loss)
            mlflow.log_metric("acc", acc)
        def train(batches):
            for loss, acc in batches:
                log_stats(loss, acc)
    """,
    "helper of a helper called in a loop, defined later": """
        import mlflow
        def train(batches):
            for batch in batches:
                evaluate(batch)
        def evaluate(batch):
            tag(batch)
        def tag(batch):
            mlflow.set_tag("last_batch", batch)
            mlflow.set_tag("stage", "eval")
    """,
    "method called in a loop": """
        import mlflow
        class Trainer:
            def log_summary(self, loss):
                mlflow.log_param("best", loss)
                mlflow.log_param("worst", loss)
            def fit(self, runs):
                for loss in runs:
                    self.log_summary(loss)
    """,
    "hook named for a batch": """
        import mlflow
        class MlflowCallback:
            def on_train_batch_end(self, logs):
                mlflow.set_tag("phase", "train")
                mlflow.set_tag("last_loss", logs["loss"])
    """,
}


@pytest.mark.parametrize("source", REPEATED_PAIRS.values(), ids=REPEATED_PAIRS.keys())
def test_two_calls_on_a_repeated_path_are_reported(source: str) -> None:
    found = [code for _, code in codes(source)]
    assert {"MLF102", "MLF103", "MLF104"} & set(found), found


def test_a_call_once_per_loop_does_not_make_its_helper_repeated() -> None:
    source = """
        import mlflow
        def log_git(branch, dirty):
            mlflow.set_tag("git_branch", branch)
            mlflow.set_tag("git_dirty", str(dirty))
        def main(configs):
            for config in configs:
                if config.first:
                    log_git("main", False)
                    break
    """
    assert codes(source) == []


def test_an_exception_handler_is_an_error_path() -> None:
    source = """
        import mlflow
        def fit(train):
            for precision in ("fp16", "fp32"):
                try:
                    return train(precision)
                except FloatingPointError as error:
                    mlflow.set_tag("fallback", "fp32")
                    mlflow.set_tag("reason", str(error))
                    mlflow.set_tag("failed_at", "train")
    """
    assert [code for _, code in codes(source) if code != "MLF106"] == []


@pytest.mark.parametrize(
    ("path", "function"),
    [("tests/test_logging.py", "check"), ("pkg/utils.py", "test_logging")],
)
def test_test_code_is_not_reported(path: str, function: str) -> None:
    source = f"""
        import mlflow
        def {function}():
            with mlflow.start_run():
                mlflow.log_param("a", 1)
                mlflow.log_param("b", 2)
                mlflow.log_param("c", 3)
    """
    assert codes(source, path=path) == []
