"""MLF302 (run-not-context-managed) and MLF305 (async-without-flush) on the shapes real code
has: runs meant to outlive the function that starts them, runs ended through helpers, hook
classes, autologging patches. Each case is checked alone (the rules look at the whole module),
and with elision on and off (a helper that ends the run may sit in a definition the engine
leaves out of its walk)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import run_cli
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from mlflow_lint import engine
from mlflow_lint.config import build_settings
from mlflow_lint.rule import Violation


def violations(source: str, code: str, path: str = "job.py", elide: bool = True) -> list[Violation]:
    settings = build_settings(None, select=[code])
    text = textwrap.dedent(source)
    return [
        v
        for v in engine.analyze(text, path, settings.rules_for(path), settings, elide=elide)
        if v.code == code
    ]


def found(source: str, code: str) -> list[Violation]:
    """The findings, the same with and without elision."""
    elided = violations(source, code)
    whole = violations(source, code, elide=False)
    assert [(v.line, v.message) for v in elided] == [(v.line, v.message) for v in whole]
    return whole


# --- MLF302: runs meant to outlive the function -------------------------------------------------
OUTLIVING = {
    "callbacks written as functions": """
        import mlflow

        def on_train_begin(trainer):
            mlflow.start_run(run_name=trainer.name)
            mlflow.log_params(trainer.args)

        def on_epoch_end(trainer):
            mlflow.log_metrics(trainer.metrics, step=trainer.epoch)

        def on_train_end(trainer):
            mlflow.end_run()
    """,
    "pytest session hooks, run kept in a global": """
        import mlflow

        _run_id = None

        def pytest_sessionstart(session):
            global _run_id
            run = mlflow.start_run(tags={"kind": "tests"})
            _run_id = run.info.run_id

        def pytest_sessionfinish(session, exitstatus):
            mlflow.end_run(status="FINISHED" if exitstatus == 0 else "FAILED")
    """,
    "ended through an imported helper whose name says so": """
        import mlflow
        from tracking import utils

        class Tracker:
            def prepare_step(self, name):
                mlflow.set_experiment("steps")
                mlflow.start_run(run_name=name)
                mlflow.set_tag("step", name)

            def cleanup_step(self, failed):
                utils.stop_all_mlflow_runs("FAILED" if failed else "FINISHED")
    """,
    "ended through a local helper whose body says so": """
        import mlflow

        def _close():
            if mlflow.active_run() is not None:
                mlflow.end_run()

        def begin(name):
            mlflow.start_run(run_name=name)
            mlflow.log_param("name", name)
    """,
    "ended with MlflowClient.set_terminated": """
        import mlflow
        from mlflow import MlflowClient

        class Tracking:
            def __init__(self):
                self.client = MlflowClient()

            def on_run_start(self, name):
                mlflow.start_run(run_name=name)
                mlflow.log_param("name", name)

            def on_run_end(self, run_id, failed):
                self.client.set_terminated(run_id, "FAILED" if failed else "FINISHED")
    """,
    "a start/stop wrapper pair": """
        import mlflow

        def mlflow_start_run(experiment, run_name=None):
            mlflow.set_experiment(experiment)
            mlflow.start_run(run_name=run_name)
            mlflow.set_tag("launcher", "pipeline")

        def mlflow_end_run():
            mlflow.end_run()
    """,
    "the run is returned": """
        import mlflow

        def create_managed_run(tags):
            managed_run = mlflow.start_run(tags=tags)
            print("started", managed_run.info.run_id)
            return managed_run
    """,
    "the run id is returned": """
        import mlflow

        class Backend:
            def create_run(self, experiment_id, name, config):
                run = mlflow.start_run(experiment_id=experiment_id, run_name=name)
                self.log_config(config)
                return run.info.run_id
    """,
    "the run is stored on an object": """
        import mlflow

        class Experiment:
            def open(self, name):
                run = mlflow.start_run(run_name=name)
                mlflow.log_param("name", name)
                self._run = run
    """,
    "the run is appended to a list": """
        import mlflow

        def launch(names, runs):
            for name in names:
                run = mlflow.start_run(run_name=name, nested=True)
                mlflow.log_param("name", name)
                runs.append(run)
    """,
    "a caller's run re-activated under an active_run() guard": """
        import mlflow

        class AutoML:
            def retrain(self):
                self.fit_best()
                if mlflow.active_run() is None:
                    if self.parent_run_id is not None:
                        mlflow.start_run(run_id=self.parent_run_id)
                self.log_best()
    """,
    "a worker process joining the run whose id its parent hands it": """
        import mlflow

        def measure_bandwidth(parent_run_id, sizes, results):
            mlflow.start_run(run_id=parent_run_id)
            for size in sizes:
                results.put(transfer(size))
            mlflow.log_metrics({"transfers": len(sizes)})
    """,
    "the mlflow module handed on with its run, for others to end": """
        import mlflow

        class Trainer:
            def connect(self, uri, name):
                mlflow.set_tracking_uri(uri)
                mlflow.start_run(run_name=name)
                mlflow.log_params(self.config)
                self.tracker = mlflow
    """,
    "MLflow's own auto-start, copied under an active_run() guard": """
        import mlflow

        class FeatureClient:
            def log_model(self, model, path):
                model.save(path)
                if mlflow.active_run() is None:
                    mlflow.start_run()
                mlflow.pyfunc.log_model(name="model", data_path=path)
                return mlflow.active_run().info.run_id
    """,
    "a start wrapper that returns at once": """
        import mlflow

        def try_init_product(product, env, tags=None):
            try:
                mlflow.set_experiment(product)
                mlflow.start_run(tags={"product": product, "env": env, **(tags or {})})
                return True, None
            except Exception as error:
                return False, str(error)
    """,
    "a start wrapper named for starting, in a module of helpers": """
        import mlflow

        def start_logging(config):
            mlflow.set_experiment(config["experiment"])
            mlflow.start_run(run_name=config["run_name"])
            mlflow.log_params(config["model"])
            mlflow.log_artifact(config["path"])

        def log_results(results, step):
            mlflow.log_metrics(results, step=step)
    """,
    "a pytest fixture that ends the run after its yield": """
        import mlflow
        import pytest

        @pytest.fixture
        def run():
            active = mlflow.start_run()
            mlflow.set_tag("fixture", "yes")
            yield active
            mlflow.end_run()
    """,
    "a run created and ended at once": """
        import mlflow

        def create_run(name, status):
            active = mlflow.start_run(run_name=name)
            run_id = active.info.run_id
            mlflow.end_run(status=status)
            return run_id
    """,
    "ended in an exception handler and at the end": """
        import mlflow

        def trial(objective, number):
            try:
                mlflow.start_run(run_name=f"trial-{number}")
            except Exception as error:
                print(error)
            try:
                result = objective()
                mlflow.log_metric("result", result)
                mlflow.end_run()
                return result
            except Exception:
                mlflow.end_run(status="FAILED")
                raise
    """,
    "started in a try whose finally ends it": """
        import mlflow

        def test_log_model(model, start):
            try:
                if start:
                    mlflow.start_run()
                mlflow.sklearn.log_model(model, "model")
            finally:
                mlflow.end_run()
    """,
    "a finally later in the function, after an if": """
        import mlflow

        def evaluate(model, data, enable):
            if enable:
                mlflow.start_run(run_name="eval")
                mlflow.log_param("rows", len(data))
            try:
                score = model.score(data)
                if enable:
                    mlflow.log_metric("score", score)
            finally:
                if enable:
                    mlflow.end_run()
    """,
    # resuming a run by its id, from wherever it comes: the run is its creator's, and a
    # script that exits leaves it FINISHED, as it found it (found judging real code: a hook
    # resuming the user's run, a sweep agent command resuming the sweep's parent run)
    "a hook class that resumes the run whose id it is given": """
        import mlflow

        class MlflowHook(LoggerHook):
            def before_run(self, runner):
                if self.run_id:
                    mlflow.start_run(self.run_id)
                mlflow.set_tags(self.tags)
    """,
    "a command that resumes a run it looks up": """
        import mlflow

        def run_command(sweep_id):
            sweep = find_sweep(sweep_id)
            mlflow.start_run(run_id=sweep.info.run_id)
            for command in proposals(sweep):
                run(command)
    """,
    # the trainer drives the package's MLflow callback, whose end hook is in its own module
    "a run handed to an imported MLflow callback": """
        import mlflow
        from forecast.training.hooks import MlflowTrainingHook

        def train(model, data, epochs):
            mlflow.start_run(run_name="forecast")
            hooks = [EarlyStop(patience=3)]
            hooks.append(MlflowTrainingHook(log_every=10))
            model.fit(data, epochs=epochs, hooks=hooks)
            return model.evaluate(data)
    """,
    "a run handed to an imported MLflow logger, inline": """
        import mlflow
        import lightning_helpers as lh

        def fit(trainer, module):
            mlflow.start_run()
            trainer.fit(module, loggers=[lh.MLflowRunLogger(module.name)])
    """,
}


@pytest.mark.parametrize("source", OUTLIVING.values(), ids=OUTLIVING.keys())
def test_mlf302_runs_meant_to_outlive_the_function_are_not_flagged(source: str) -> None:
    assert found(source, "MLF302") == []


def test_mlf302_the_name_of_a_helper_counts_in_code_only() -> None:
    """A comment or a docstring that mentions `end_run` does not end anything."""
    source = """
        import mlflow

        def helper():
            \"\"\"Remember to call end_run() when you are done.\"\"\"  # or stop_mlflow_run()
            return 1

        def train(data):
            mlflow.start_run()
            mlflow.log_metric("rows", len(data))
    """
    [finding] = found(source, "MLF302")
    assert finding.message == "nothing here ends the run `mlflow.start_run()` starts"


def test_mlf302_event_handler_names_do_not_end_the_run() -> None:
    """`on_run_end` names the moment, not the action: its body decides."""
    source = """
        import mlflow

        class Hooks:
            def on_run_start(self):
                mlflow.start_run()
                mlflow.set_tag("a", 1)

            def on_run_end(self):
                print("done")
    """
    [finding] = found(source, "MLF302")
    assert finding.message == "nothing in this class ends the run `start_run()` starts"
    assert "teardown hook" in finding.help and 'status="FAILED"' in finding.help


FLAGGED = {
    "a script that never ends its run": (
        """
        import mlflow

        mlflow.start_run()
        for epoch in range(3):
            mlflow.log_metric("loss", 1 / (epoch + 1), step=epoch)
        """,
        "nothing here ends the run `mlflow.start_run()` starts",
    ),
    "a function that never ends its run": (
        """
        import mlflow

        def main():
            mlflow.start_run()
            mlflow.log_metric("loss", 0.1)
        """,
        "nothing here ends the run `mlflow.start_run()` starts",
    ),
    "a hook class without a teardown that ends the run": (
        """
        import mlflow

        class MlflowHook(LoggerHook):
            def before_run(self, runner):
                mlflow.start_run(run_name=self.run_name)
                mlflow.set_tags(self.tags)

            def after_run(self, runner):
                mlflow.log_artifact(self.config_path)
        """,
        "nothing in this class ends the run `start_run()` starts",
    ),
    "ended later in the same function, not in finally": (
        """
        import mlflow

        def task():
            mlflow.start_run()
            prepare()
            mlflow.log_param("p", 1)
            mlflow.end_run()
        """,
        "`mlflow.start_run()` outside a `with` block: an exception skips its `end_run()`",
    ),
    "ended later through a helper in the same function": (
        """
        import mlflow

        def _finish():
            mlflow.end_run()

        def task(data):
            mlflow.start_run()
            rows = load(data)
            mlflow.log_param("rows", len(rows))
            _finish()
        """,
        "`mlflow.start_run()` outside a `with` block: an exception skips its `end_run()`",
    ),
    "a run_id without the active_run() guard, ended in the same function": (
        """
        import mlflow

        class Dataset:
            def save(self, data):
                mlflow.start_run(run_id=self.run_id)
                mlflow.log_metrics(self.summarize(data))
                mlflow.end_run()
        """,
        "`mlflow.start_run()` outside a `with` block: an exception skips its `end_run()`",
    ),
    "a guarded auto-start that the function also ends, unprotected": (
        """
        import mlflow

        def score(model, data):
            if mlflow.active_run() is None:
                mlflow.start_run()
            mlflow.log_metric("score", model.score(data))
            mlflow.end_run()
        """,
        "`mlflow.start_run()` outside a `with` block: an exception skips its `end_run()`",
    ),
    # MLflow's own callback logs into the run and ends nothing; a callback defined in the
    # module is read here, and this one ends nothing either
    "a run handed to MLflow's own callback": (
        """
        import mlflow

        def train(model, data):
            mlflow.start_run()
            model.fit(data, callbacks=[mlflow.keras.MlflowCallback()])
        """,
        "nothing here ends the run `mlflow.start_run()` starts",
    ),
    "a run handed to a callback of the module that ends nothing": (
        """
        import mlflow

        class MlflowEpochLogger:
            def on_epoch_end(self, epoch, logs):
                mlflow.log_metrics(logs, step=epoch)

        def train(model, data):
            mlflow.start_run()
            model.fit(data, callbacks=[MlflowEpochLogger()])
        """,
        "nothing here ends the run `mlflow.start_run()` starts",
    ),
    "a method that starts and ends the run itself, unprotected": (
        """
        import mlflow

        class Evaluator:
            def evaluate(self, model):
                mlflow.start_run()
                mlflow.log_metric("score", model.score())
                mlflow.end_run()

            def close(self):
                mlflow.end_run()
        """,
        "`mlflow.start_run()` outside a `with` block: an exception skips its `end_run()`",
    ),
    # the same start wrapper in a module that runs its own code: the run is this file's
    "a start wrapper the module's main block calls": (
        """
        import mlflow

        def start_logging(config):
            mlflow.start_run(run_name=config["run_name"])
            mlflow.log_params(config["model"])
        if __name__ == "__main__":
            start_logging(load_config())
            train()
        """,
        "nothing here ends the run `mlflow.start_run()` starts",
    ),
    "a start wrapper a script calls": (
        """
        import mlflow

        def start_logging(config):
            mlflow.start_run(run_name=config["run_name"])
            mlflow.log_params(config["model"])
        start_logging(load_config())
        train()
        """,
        "nothing here ends the run `mlflow.start_run()` starts",
    ),
    "a function that starts a run but is not named for it": (
        """
        import mlflow

        def log_config(config):
            mlflow.start_run(run_name=config["run_name"])
            mlflow.log_params(config["model"])
        """,
        "nothing here ends the run `mlflow.start_run()` starts",
    ),
}


@pytest.mark.parametrize(("source", "message"), FLAGGED.values(), ids=FLAGGED.keys())
def test_mlf302_runs_left_open_are_flagged(source: str, message: str) -> None:
    [finding] = found(source, "MLF302")
    assert finding.message == message
    assert len(finding.message) <= 90
    assert "FAILED" in finding.help and "FINISHED" in finding.help and "RUNNING" in finding.help


def test_mlf302_same_cell_and_spanning_cells_in_a_notebook_module() -> None:
    """The notebook's virtual module (notebook.py): cells joined by a boundary statement."""
    spanning = "import mlflow\nrun = mlflow.start_run()\npass  # nbcell:cell\nmlflow.log_metric('a', 1)\npass  # nbcell:cell\nmlflow.end_run()\n"
    assert violations(spanning, "MLF302", path="nb.ipynb") == []
    same = "import mlflow\nrun = mlflow.start_run()\nloss = train()\nmlflow.log_metric('a', loss)\nmlflow.end_run()\n"
    [finding] = violations(same, "MLF302", path="nb.ipynb")
    assert finding.fix is not None
    never = (
        "import mlflow\nrun = mlflow.start_run()\npass  # nbcell:cell\nmlflow.log_metric('a', 1)\n"
    )
    [finding] = violations(never, "MLF302", path="nb.ipynb")
    assert finding.message == "nothing in this notebook ends the run `start_run()` starts"
    assert "final cell" in finding.help and "restarting the kernel" in finding.help
    # a resumed run is not left to a script's exit here: the kernel keeps it RUNNING
    resumed = never.replace("mlflow.start_run()", "mlflow.start_run(run_id=RUN_ID)")
    assert len(violations(resumed, "MLF302", path="nb.ipynb")) == 1
    assert violations(resumed, "MLF302", path="resume.py") == []


# --- MLF305 ----------------------------------------------------------------------------------
FLUSHED = {
    "set_terminated": """
        import mlflow
        from mlflow import MlflowClient

        class Tracker:
            def __init__(self):
                self.client = MlflowClient()

            def start(self):
                mlflow.config.enable_async_logging(True)
                self.run_id = self.client.create_run("0").info.run_id

            def finish(self, status):
                self.client.set_terminated(self.run_id, status=status)
    """,
    "flush_async_logging": """
        import mlflow

        def log_step(metrics, step):
            mlflow.log_metrics(metrics, step=step, synchronous=False)

        def on_exit():
            mlflow.flush_async_logging()
    """,
    "MLflow's private _shut_down_async_logging": """
        import mlflow
        from mlflow.tracking.fluent import _shut_down_async_logging

        def patched_fit(original, self, *args):
            history = original(self, *args)
            mlflow.log_metrics({"stopped_epoch": 3}, synchronous=False)
            _shut_down_async_logging()
            return history
    """,
    "an autologging patch with manage_run=True": """
        from mlflow import log_metrics
        from mlflow.utils.autologging_utils import safe_patch

        def _log_early_stop(history):
            log_metrics({"restored_epoch": 2}, synchronous=False)

        def autolog():
            def patched_fit(original, self, *args, **kwargs):
                history = original(self, *args, **kwargs)
                _log_early_stop(history)
                return history

            safe_patch("flavor", Model, "fit", patched_fit, manage_run=True)
    """,
    "a Hooks class": """
        import mlflow

        class MlflowTrackingHooks(Hooks):
            async def on_run_start(self, data):
                mlflow.config.enable_async_logging(True)
    """,
    "a Hook class": """
        import mlflow

        class MlflowLoggerHook(LoggerHook):
            def log(self, runner):
                mlflow.log_metrics(runner.metrics, step=runner.iter, synchronous=False)
    """,
    "a class named a callback, with no base (LightGBM's callables)": """
        import mlflow

        class MlflowCallbackLGBM:
            def __init__(self, every=1):
                self.every = every

            def __call__(self, env):
                if env.iteration % self.every == 0:
                    for _, name, value, _ in env.evaluation_result_list:
                        mlflow.log_metric(name, value, step=env.iteration, synchronous=False)
    """,
    "a Logger class": """
        import mlflow

        class AsyncMlflowLogger(Logger):
            def log_metrics(self, metrics, step):
                mlflow.log_metrics(metrics, step=step, synchronous=False)
    """,
}


@pytest.mark.parametrize("source", FLUSHED.values(), ids=FLUSHED.keys())
def test_mlf305_flushed_or_owned_by_a_framework_is_not_flagged(source: str) -> None:
    assert found(source, "MLF305") == []


def test_mlf305_a_module_of_logging_helpers_logs_into_its_callers_run() -> None:
    """It starts no run and runs none of its code: the modules that import it start the run
    and end it (`with mlflow.start_run():` around the calls), which drains the queue."""
    helpers = """
        import time
        import mlflow

        def log_with_retry(key, value, step=None):
            for attempt in range(5):
                try:
                    mlflow.log_metric(key, value, step=step, synchronous=False)
                    return
                except Exception:
                    time.sleep(0.2 * attempt)

        class Reporter:
            def report(self, metrics, step):
                mlflow.log_metrics(metrics, step=step, synchronous=False)
    """
    assert found(helpers, "MLF305") == []
    # the same module run as a script: the first call starts a run that nothing ends
    module = textwrap.dedent(helpers)
    for script in (
        module + "log_with_retry('loss', 0.5)\n",
        module + "if __name__ == '__main__':\n    Reporter().report({'loss': 1}, 0)\n",
        "import mlflow\nmlflow.log_metric('loss', 0.5, synchronous=False)\n",
    ):
        assert [f.code for f in found(script, "MLF305")], script
    # a module that starts a run and never ends it: reported wherever its logging sits
    starts = module + "def main():\n    mlflow.start_run()\n    log_with_retry('a', 1)\n"
    assert len(found(starts, "MLF305")) == 2


def test_mlf305_a_plain_function_that_never_flushes_is_flagged() -> None:
    source = """
        import mlflow

        class Reporter:
            def report(self, metrics, step):
                mlflow.log_metrics(metrics, step=step, synchronous=False)

        def main():
            mlflow.start_run()
            Reporter().report({"loss": 1.0}, 0)
    """
    [finding] = found(source, "MLF305")
    assert finding.message == (
        "asynchronous logging, but nothing here ends the run or flushes the queue"
    )
    assert "`mlflow.flush_async_logging()`" in finding.help


# --- MLF302 in notebooks, through the installed command ---------------------------------------------
def _notebook(path: Path, *cells: str) -> None:
    nb = new_notebook(
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
    )
    nb.cells = [new_markdown_cell("# Training")] + [
        new_code_cell(textwrap.dedent(c).strip("\n")) for c in cells
    ]
    nbformat.write(nb, str(path))


def _check(path: Path) -> list[dict]:  # type: ignore[type-arg]
    result = run_cli("check", "--no-cache", "--select", "MLF302", "--format", "json", str(path))
    assert result.returncode in (0, 1), result.stderr
    return [f for f in json.loads(result.stdout)["findings"] if f.get("code") == "MLF302"]


def test_mlf302_runs_spanning_notebook_cells(tmp_path: Path) -> None:
    spanning = tmp_path / "spanning.ipynb"
    _notebook(
        spanning,
        "import mlflow\nmlflow.set_experiment('notebook')",
        "run = mlflow.start_run(run_name='exploration')",
        "for epoch in range(3):\n    mlflow.log_metric('loss', 1 / (epoch + 1), step=epoch)",
        "mlflow.end_run()",
    )
    assert _check(spanning) == []

    never = tmp_path / "never.ipynb"
    _notebook(
        never,
        "import mlflow",
        "run = mlflow.start_run()",
        "mlflow.log_metric('loss', 0.1)",
    )
    [finding] = _check(never)
    assert (finding["cell"], finding["line"]) == (3, 1)
    assert finding["message"] == "nothing in this notebook ends the run `start_run()` starts"
    assert not finding["fixable"]

    same = tmp_path / "same.ipynb"
    _notebook(
        same,
        "import mlflow",
        "run = mlflow.start_run()\nloss = train()\nmlflow.log_metric('loss', loss)\nmlflow.end_run()",
    )
    [finding] = _check(same)
    assert finding["cell"] == 3 and finding["fixable"]
    fixed = run_cli("fix", "--select", "MLF302", str(same), cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    cell = nbformat.read(str(same), as_version=4).cells[2].source
    assert cell == (
        "with mlflow.start_run() as run:\n    loss = train()\n    mlflow.log_metric('loss', loss)"
    )


def test_mlf302_a_helper_that_ends_its_own_run_does_not_end_the_callers() -> None:
    """`log_model()` starts a run and ends it: calling it does not end the caller's run."""
    source = """
        import mlflow

        class Integration:
            def log_model(self, model, run_id):
                mlflow.start_run(run_id=run_id, nested=True)
                mlflow.sklearn.log_model(model, "model")
                mlflow.end_run()

            def log_best(self, model):
                mlflow.start_run(run_name="best")
                mlflow.log_metric("best", 1.0)
                self.log_model(model, self.best_run_id)
    """
    messages = sorted(v.message for v in found(source, "MLF302"))
    assert messages == [
        "`mlflow.start_run()` outside a `with` block: an exception skips its `end_run()`",
        "nothing in this class ends the run `start_run()` starts",
    ]


def test_mlf304_a_function_defined_after_the_block_is_not_logging_there() -> None:
    """Found judging real code: a module that runs one `with` block and then defines
    helpers had every fluent call in those helpers reported as "after the block closed";
    a definition runs nothing, its body logs wherever it is called."""
    source = """
    import mlflow
    with mlflow.start_run():
        mlflow.log_param("a", 1)
    def tag(stage):
        mlflow.set_tag("stage", stage)
    class Logger:
        def log(self, value):
            mlflow.log_metric("v", value)
    mlflow.log_metric("late", 1.0)
    """
    assert [v.line for v in found(source, "MLF304")] == [10]


# --- retry loops around start_run, and a module-level start ended after its block ------------
RETRY = """\
import time

import mlflow


def connect(run_id, attempts):
    for attempt in range(attempts):
        try:
            if run_id:
                mlflow.start_run(run_id=run_id)
            else:
                mlflow.start_run()
            mlflow.log_params({"attempt": attempt})
            break
        except Exception:
            time.sleep(1)
"""


def test_a_retry_loop_that_breaks_once_started_starts_one_run() -> None:
    """The loop leaves as soon as the start succeeds: no second start while it is active."""
    assert violations(RETRY, "MLF303") == []
    without_break = RETRY.replace("            break\n", "")
    assert [v.line for v in violations(without_break, "MLF303")] == [10, 12]


def test_an_end_run_after_a_module_level_block_ends_its_run() -> None:
    """The run is ended by the module's later `end_run()`: MLF302 says what an exception
    skips, not that nothing ends the run."""
    source = "import mlflow\nif True:\n    mlflow.start_run()\n    mlflow.log_param('a', 1)\nmlflow.end_run()\n"
    [found] = violations(source, "MLF302")
    assert "an exception skips its `end_run()`" in found.message


def test_a_run_whose_id_is_written_out_for_later_steps_is_handed_on() -> None:
    """A pipeline step starts the run and writes its id to a file; later steps resume it."""
    source = """\
import mlflow


def nightly_step(output):
    run = mlflow.start_run(run_name="pipeline")
    mlflow.set_tag("pipeline", "nightly")
    with open(output, "w") as f:
        f.write(run.info.run_id)
"""
    assert violations(source, "MLF302") == []
    assert (
        len(violations(source.replace("f.write(run.info.run_id)", "f.write('x')"), "MLF302")) == 1
    )


def test_a_start_with_the_active_runs_id_pushes_the_callers_run() -> None:
    """A training loop re-activates the run it was called in (`parent = active_run()`,
    later `start_run(run_id=parent.info.run_id, nested=True)`) after a child run: the run
    is the caller's, and a `with` there would end it on the first epoch."""
    source = """\
import mlflow


def train(model, epochs):
    parent = mlflow.active_run()
    for epoch in range(epochs):
        model.step()
        mlflow.start_run(run_id=parent.info.run_id, nested=True)
        mlflow.log_metric("loss", model.loss, step=epoch)
"""
    assert violations(source, "MLF302") == []
    direct = source.replace("parent.info.run_id", "mlflow.active_run().info.run_id")
    assert violations(direct, "MLF302") == []
    # popped again after the epoch's logging: still the caller's run, the caller ends it
    popped = source + "        mlflow.end_run()\n"
    assert violations(popped, "MLF302") == []
    # an id from elsewhere resumes a run whose creator ends it; a new run is this code's own
    other = source.replace("parent = mlflow.active_run()", "parent = mlflow.last_active_run()")
    assert violations(other, "MLF302") == []
    new = source.replace("run_id=parent.info.run_id, nested=True", "run_name='epoch'")
    assert len(violations(new, "MLF302")) == 1


def test_a_setup_callback_that_hands_out_the_callback_ending_the_run() -> None:
    """A framework's logger protocol: the setup function starts the run and returns the
    teardown callback that ends it (the framework calls it when training stops, also on
    error). A `with` cannot span the two callbacks."""
    source = """\
import atexit

import mlflow


def make_logger(run_name):
    def setup(config):
        mlflow.start_run(run_name=run_name)
        mlflow.log_params(config)

        def log_step(info):
            mlflow.log_metrics(info["scores"], step=info["step"])

        def finalize():
            mlflow.end_run()

        return log_step, finalize

    return setup
"""
    assert violations(source, "MLF302") == []
    registered = source.replace("return log_step, finalize", "atexit.register(finalize)")
    assert violations(registered, "MLF302") == []
    # the callback handed out does not end the run; or the one that does is kept inside
    assert len(violations(source.replace("mlflow.end_run()", "pass"), "MLF302")) == 1
    kept = source.replace("return log_step, finalize", "return log_step").replace(
        "finalize", "tidy"
    )
    assert len(violations(kept, "MLF302")) == 1


@pytest.mark.parametrize(
    "guard",
    [
        "if mlflow.active_run() is None:",
        "active = mlflow.active_run()\n        if active is None:",
        "if not mlflow.active_run():",
    ],
)
def test_a_start_in_a_loop_under_a_no_active_run_guard_starts_one_run(guard: str) -> None:
    """A logging thread resumes its run before each write, only when none is active: the
    loop never starts a second run while one is active."""
    source = f"""\
import mlflow


def drain(queue, run_id):
    while True:
        task = queue.get()
        {guard}
            mlflow.start_run(run_id=run_id)
        task()
"""
    assert violations(source, "MLF303") == []
    unguarded = source.replace(guard, "if task is not None:")
    assert [v.line for v in violations(unguarded, "MLF303")] == [8]


def test_a_helper_that_swallows_every_error_cannot_skip_the_end() -> None:
    """A stop command resumes the run, syncs through a method whose whole body is a `try`
    that swallows any error, and ends the run: nothing between can raise."""
    source = """\
import traceback

import mlflow


class Syncer:
    def sync(self, folder):
        try:
            mlflow.log_artifacts(folder)
        except:
            traceback.print_exc()

    def stop(self, folder, run_id):
        mlflow.start_run(run_id=run_id)
        self.sync(folder)
        mlflow.end_run()
"""
    assert violations(source, "MLF302") == []
    # a handler that raises again, or an argument that may fail: the end can be skipped
    reraising = source.replace("traceback.print_exc()", "raise")
    assert len(violations(reraising, "MLF302")) == 1
    computed = source.replace("self.sync(folder)", "self.sync(folder.resolve())")
    assert len(violations(computed, "MLF302")) == 1


def test_the_with_protocol_spelled_out_ends_the_run() -> None:
    """A context manager of the package's own enters the run by hand and leaves it in
    `finally:` with `run.__exit__(None, None, None)`, which ends it as `with` would."""
    source = """\
import contextlib

import mlflow


@contextlib.contextmanager
def tracked(name):
    run = None
    try:
        run = mlflow.start_run(run_name=name)
        run.__enter__()
        yield mlflow
    finally:
        if run is not None:
            run.__exit__(None, None, None)
"""
    assert violations(source, "MLF302") == []
    other = source.replace("run.__exit__(None, None, None)", "log.__exit__(None, None, None)")
    assert len(violations(other, "MLF302")) == 1


def test_a_helper_run_entered_with_with_in_a_loop_is_ended_each_iteration() -> None:
    """A helper returns `start_run(...)` (nested when a run is active) and the loop enters
    it with `with`: each model's run ends before the next starts."""
    source = """\
import mlflow


def start_child(name):
    if mlflow.active_run() is None:
        return mlflow.start_run(run_name=name)
    return mlflow.start_run(run_name=name, nested=True)


def train_all(models):
    for name in models:
        with start_child(name) as run:
            mlflow.set_tag("model", name)
"""
    assert violations(source, "MLF303") == []
    entered_by_hand = source.replace(
        "        with start_child(name) as run:\n            mlflow.set_tag",
        "        run = start_child(name)\n        if run:\n            mlflow.set_tag",
    )
    assert [v.line for v in violations(entered_by_hand, "MLF303")] == [12]


def test_messages_about_the_run_between_its_start_and_end_cannot_skip_the_end() -> None:
    """A helper that starts a run, prints its id, logs a few values and ends it: only
    MLflow itself could fail in between, as with logging alone."""
    source = """\
import mlflow


def log_result(name, score, params):
    mlflow.start_run()
    run = mlflow.active_run()
    print("Active run_id: {}".format(run.info.run_id))
    if name:
        mlflow.set_tag("model", name)
    mlflow.log_metric("score", score)
    mlflow.log_params(params)
    mlflow.end_run()
"""
    assert violations(source, "MLF302") == []
    # work of its own between them (a call that may raise) can skip the end
    working = source.replace("score, params", "model, params").replace(
        'mlflow.log_metric("score", score)', 'mlflow.log_metric("score", model.score())'
    )
    assert len(violations(working, "MLF302")) == 1
