"""Once per run or per step: the request-count rules leave alone a loop over a set of names
(a mapping's entries, or items that each log their own key) in a function that runs once per
run (a handful of requests, hand-judged not worth acting on), and keep reporting it where it
repeats or its size is open-ended."""

from __future__ import annotations

import textwrap

import pytest

from mlflow_lint import engine
from mlflow_lint.config import build_settings

SETTINGS = build_settings(None, select=["ALL"])


def codes(source: str, path: str = "train.py") -> list[tuple[int, str]]:
    text = textwrap.dedent(source)
    rules = SETTINGS.rules_for(path)
    return [(v.line, v.code) for v in engine.analyze(text, path, rules, SETTINGS)]


ONCE = {
    "final-metrics": """
        import mlflow
        def report(model, data):
            scores = model.evaluate(data)
            for name, value in scores.items():
                mlflow.log_metric(f"test_{name}", value)
                print(name, value)
    """,
    "mapping-only-loop": """
        import mlflow
        def log_best(search):
            for key, value in search.best_params_.items():
                mlflow.log_param(key, value)
    """,
    "run-tags": """
        import mlflow
        def copy_tags(source_run):
            for key, value in sorted(source_run.data.tags.items()):
                mlflow.set_tag(key, value)
                print(key)
    """,
    "client-checksums": """
        from mlflow import MlflowClient
        def record(run_id, checksums):
            client = MlflowClient()
            for index, (path, digest) in enumerate(checksums.items()):
                client.set_tag(run_id, f"sha256_{index}", f"{path}:{digest}")
    """,
    # any collection, when each item logs its own key: as many requests as names
    "leaderboard": """
        import mlflow
        def log_summary(result):
            for entry in result["leaderboard"]:
                name = entry["model"]
                mlflow.log_metric(f"score_{name}", entry["score"])
    """,
    "report-items": """
        import mlflow
        class Project:
            def put(self, report):
                self._log_items(report.items_to_log())
            def _log_items(self, items):
                for item in items:
                    mlflow.set_tag(item.key, item.value)
    """,
    # a function named for a step that opens a run on every call: once per run all the same
    "own-run-per-call": """
        import mlflow
        class Optimizer:
            def record_pruning_step(self, technique, scores, settings):
                with mlflow.start_run():
                    mlflow.set_tag("technique", technique)
                    for name, value in scores.items():
                        mlflow.log_metric(name, value)
                    for name, value in settings.items():
                        mlflow.log_param(name, str(value))
    """,
    # how many steps, said once, is no step: the function still runs once per run
    "step-quantities": """
        import mlflow
        def train(model, data, batch_size=32, epochs=10, max_steps=None):
            scores = model.fit(data, batch_size=batch_size, epochs=epochs)
            for name, value in scores.items():
                mlflow.log_metric(f"final_{name}", value)
                print(name)
    """,
    # an interface that opens its own run: each call is a run of its own, logged once
    "interface-with-its-own-run": """
        import mlflow
        class Tracker:
            def log_metrics(self, params, metrics):
                with mlflow.start_run():
                    for name, value in metrics.items():
                        mlflow.log_metric(name, value)
    """,
    # a script's own code (a notebook's cells too) runs once per process: once per run
    "script": """
        import mlflow
        scores = evaluate(model)
        with mlflow.start_run():
            for name, value in scores.items():
                mlflow.log_metric(name, value)
                print(name)
            for param, value in search.best_params_.items():
                mlflow.log_param(f"best_{param}", value)
    """,
    # an interface the file calls only from runs its callers open, in no loop: a few
    # schemas' worth of requests once per run
    "interface-called-once-per-run": """
        import mlflow
        class Evaluator:
            def evaluate(self, model, test, holdout):
                with mlflow.start_run():
                    self._log_metrics(model.score(test), "test")
                    self._log_metrics(model.score(holdout), "holdout")
            def _log_metrics(self, scores, split):
                for name, value in scores.items():
                    mlflow.log_metric(f"{split}_{name}", value)
    """,
    # a metrics interface that takes no step logs summary values (a caller on every step
    # would pile its points on step 0): once per run where the file shows no loop around it
    "stepless-interface-with-callers-elsewhere": """
        import mlflow
        class Tracker:
            def log_metrics(self, metrics):
                for key, value in metrics.items():
                    mlflow.log_metric(key, value)
    """,
    "stepless-interface-with-an-outside-caller": """
        import mlflow
        def log_metrics(scores):
            for key, value in scores.items():
                mlflow.log_metric(key, value)
        def final_report(scores):
            log_metrics(scores)
    """,
    "interface-called-by-the-script": """
        import mlflow
        def log_metrics(results, prefix):
            for name, value in results.items():
                mlflow.log_metric(f"{prefix}/{name}", value)
        log_metrics(final_scores, "final")
    """,
    # one object's fields (a class's schema): a configuration not made flat
    "config-fields": """
        import mlflow
        class Experiment:
            def log_parameters(self):
                for name, value in self.config.items():
                    mlflow.log_param(name, str(value))
                    print(name)
    """,
    "argparse-namespace": """
        import argparse
        import mlflow
        def main():
            args = argparse.ArgumentParser().parse_args()
            with mlflow.start_run():
                for name, value in vars(args).items():
                    mlflow.log_param(name, value)
    """,
    # a guarded write per leaf: one bad value loses itself alone, a batch would lose all
    "guarded-flat-config": """
        import mlflow
        def log_config(config):
            for key, value in flatten_dict(config).items():
                try:
                    mlflow.log_param(key, value)
                except Exception as error:
                    print(f"skipped {key}: {error}")
    """,
    # a helper handed each item logs a key built from it: one key per item, as inline
    "helper-keyed-by-its-item": """
        import mlflow
        class Tracker:
            def _log_suite(self, model, suite):
                name = suite.get_name()
                mlflow.log_metric(f"success_{name}", suite.score(model))
            def track(self, model, suites):
                with mlflow.start_run():
                    for suite in suites:
                        self._log_suite(model, suite=suite)
    """,
    # the folds of a cross-validation: k (5 or 10) fixed for the run, a model trained per fold
    "cv-fold-loop": """
        import mlflow
        from sklearn.model_selection import StratifiedKFold
        def cross_validate(model, X, y):
            splitter = StratifiedKFold(n_splits=5)
            for fold, (train, test) in enumerate(splitter.split(X, y)):
                model.fit(X[train], y[train])
                mlflow.log_metric("accuracy", model.score(X[test], y[test]), step=fold)
    """,
    "function-called-per-fold": """
        import mlflow
        def train_fold(model, X, y, train, test):
            model.fit(X[train], y[train])
            mlflow.log_metric("train_accuracy", model.score(X[train], y[train]))
            mlflow.log_metric("test_accuracy", model.score(X[test], y[test]))
        def cross_validate(model, X, y, kfold):
            for train, test in kfold.split(X, y):
                train_fold(model, X, y, train, test)
    """,
    "metrics-at-a-fold-step": """
        import mlflow
        def log_fold_metrics(fold_idx, metrics):
            for name, value in metrics.items():
                mlflow.log_metric(f"fold_{fold_idx}_{name}", value, step=fold_idx)
    """,
    # a client logger that creates its own run: one object, one run, one config
    "client-logger-with-its-own-run": """
        from mlflow import MlflowClient
        class Logger:
            def __init__(self, experiment_id):
                self.client = MlflowClient()
                self.run = self.client.create_run(experiment_id)
                self.run_id = self.run.info.run_id
            def log_params(self, params):
                for key, value in params.items():
                    self.client.log_param(self.run_id, key, value)
    """,
    # adjacent calls in a stepless metrics interface's loop: summary values, held like
    # the loop rules hold the interface
    "interface-with-adjacent-calls": """
        import mlflow
        class Comparison:
            def _log_aggregates(self, results):
                for model, scores in results.items():
                    mlflow.log_metric(f"{model}_avg_mse", scores["mse"])
                    mlflow.log_metric(f"{model}_avg_mae", scores["mae"])
    """,
}


@pytest.mark.parametrize("source", ONCE.values(), ids=ONCE.keys())
def test_a_mapping_logged_once_per_run_is_not_reported(source: str) -> None:
    assert codes(source) == []


REPEATS = {
    # the module calls the function on every epoch
    "called-in-a-loop": (
        """
        import mlflow
        def log_scores(scores):
            for name, value in scores.items():
                mlflow.log_metric(name, value)
                print(name)
        for epoch in range(100):
            log_scores({"loss": 1 / (epoch + 1)})
        """,
        [(5, "MLF101")],
    ),
    # a trainer calls a hook named for an epoch on each one
    "step-named-hook": (
        """
        import mlflow
        class Callback:
            def on_epoch_end(self, epoch, logs):
                for name, value in logs.items():
                    mlflow.log_metric(name, value, step=epoch)
                    print(name)
        """,
        [(6, "MLF101")],
    ),
    # an interface given a step: its callers log through it on every step
    "logging-interface": (
        """
        import mlflow
        class Tracker:
            def log_metrics(self, metrics, step=None):
                for key, value in metrics.items():
                    mlflow.log_metric(key, value, step=step)
        """,
        [(5, "MLF105")],
    ),
    # one that takes no step, called in a loop of this file: every epoch, at step 0
    "stepless-interface-called-in-a-loop": (
        """
        import mlflow
        def log_metrics(metrics):
            for key, value in metrics.items():
                mlflow.log_metric(key, value)
        def train(model, epochs):
            for epoch in range(epochs):
                log_metrics(model.fit_epoch())
        """,
        [(4, "MLF105")],
    ),
    # the same interface called from a run the caller opens for each model of a sweep:
    # once per run, but the requests add up over the process's runs
    "interface-per-run-of-a-sweep": (
        """
        import mlflow
        def compare(models, data):
            for name, model in models.items():
                with mlflow.start_run(run_name=name):
                    log_metrics(model.score(data))
        def log_metrics(scores):
            for key, value in scores.items():
                mlflow.log_metric(key, value)
        """,
        [(8, "MLF105")],
    ),
    # a client names the run it writes: a tool that writes many runs logs a config per run
    "client-params-interface": (
        """
        from mlflow import MlflowClient
        class Tracker:
            def __init__(self, run_id):
                self.client = MlflowClient()
                self.run_id = run_id
            def log_params(self, params):
                for key, value in params.items():
                    self.client.log_param(self.run_id, key, value)
        """,
        [(8, "MLF105")],
    ),
    # every leaf of a nested configuration, walked by a function that calls itself
    "recursive-config-walk": (
        """
        import mlflow
        def log_tree(tree, prefix=""):
            for name, value in tree.items():
                if isinstance(value, dict):
                    log_tree(value, prefix=f"{prefix}{name}.")
                else:
                    mlflow.log_param(f"{prefix}{name}", value)
        """,
        [(8, "MLF106")],
    ),
    # a history keyed by step is a step loop
    "history-by-step": (
        """
        from mlflow import MlflowClient
        def save(run_id, history):
            client = MlflowClient()
            for step, value in history.items():
                client.log_metric(run_id, "loss", value, step=step)
        """,
        [(6, "MLF101")],
    ),
    # nested under a loop over the data
    "nested": (
        """
        import mlflow
        def evaluate(batches):
            for step, batch in enumerate(batches):
                for name, value in batch.metrics.items():
                    mlflow.log_metric(name, value, step=step)
                    print(name)
        """,
        [(6, "MLF101")],
    ),
    # a step from outside the loop: the function runs on each step
    "outer-step": (
        """
        import mlflow
        class Logger:
            def write(self, metrics):
                for name, value in metrics.items():
                    mlflow.log_metric(name, value, step=self.global_step)
        """,
        [(5, "MLF105")],
    ),
    # a function handed a step is called on each one
    "given-a-step": (
        """
        import mlflow
        def record(results, iteration):
            for entry in results:
                mlflow.log_metric(entry.name, entry.value)
        """,
        [(5, "MLF101")],
    ),
    # one key over many items: the values of a series, not a set of names
    "one-key": (
        """
        import mlflow
        def replay(losses):
            for step, loss in enumerate(losses):
                mlflow.log_metric("loss", loss, step=step)
        """,
        [(5, "MLF101")],
    ),
    # a step that changes with the item: a history of several keys, flattened
    "flattened-history": (
        """
        import itertools
        import mlflow
        def save(history):
            points = itertools.chain.from_iterable(history.values())
            for key, value, step in points:
                mlflow.log_metric(key, value, step=step)
        """,
        [(7, "MLF101")],
    ),
    # a document loaded whole: as many entries as the file holds (where the object dumped
    # beside it has its class's fields, a schema: held)
    "loaded-document": (
        """
        import json
        import mlflow
        def log_model_params(args, model_json):
            for key in args.dict():
                mlflow.log_param(key, getattr(args, key))
            fields = json.loads(model_json)
            for key in fields:
                mlflow.log_param(key, fields[key])
        """,
        [(9, "MLF106")],
    ),
    # a run of its own per call, but a flattened config: open-ended all the same
    "own-run-flattened-config": (
        """
        from mlflow import MlflowClient
        def add_step_run(client: MlflowClient, experiment_id, step_info):
            run = client.create_run(experiment_id=experiment_id)
            for key, value in flatten_dict(step_info.config).items():
                client.log_param(run.info.run_id, key, value)
        """,
        [(5, "MLF105")],
    ),
    # a script's loop over names, nested in a loop over the data
    "script-per-epoch": (
        """
        import mlflow
        with mlflow.start_run():
            for epoch in range(epochs):
                for name, value in evaluate(epoch).items():
                    mlflow.log_metric(name, value, step=epoch)
                    print(name)
        """,
        [(6, "MLF101")],
    ),
    # the helper handed the item logs one key for all of them: a history, per item
    "helper-with-one-key": (
        """
        import mlflow
        def log_suite(model, suite):
            mlflow.log_metric("success", suite.score(model))
        def track(model, suites):
            for suite in suites:
                log_suite(model, suite)
        """,
        [(7, "MLF101"), (7, "MLF108")],
    ),
    # ... or logs a key from the item only through a deeper helper: not followed
    "helper-keyed-two-levels-down": (
        """
        import mlflow
        def log_score(name, value):
            mlflow.log_metric(f"success_{name}", value)
        def log_suite(model, suite):
            log_score(suite.name, suite.score(model))
        def track(model, suites):
            for suite in suites:
                log_suite(model, suite)
        """,
        [(9, "MLF101")],
    ),
    # a per-batch loop inside the fold loop still repeats with the data
    "batches-inside-folds": (
        """
        import mlflow
        def cross_validate(model, folds, epochs):
            for fold_idx, (train_loader, val_loader) in enumerate(folds):
                for step, batch in enumerate(train_loader):
                    mlflow.log_metric(f"fold{fold_idx}_loss", model.step(batch), step=step)
        """,
        [(6, "MLF101")],
    ),
    # splits that are not named for folds: as many as the data has
    "time-windows": (
        """
        import mlflow
        def backtest(model, windows):
            for start, end in windows.split(series):
                mlflow.log_metric("mape", model.evaluate(series[start:end]), step=start)
        """,
        [(5, "MLF101")],
    ),
    # ... called in a loop of the file: repeated
    "interface-with-adjacent-calls-in-a-loop": (
        """
        import mlflow
        class Comparison:
            def _log_aggregates(self, results):
                for model, scores in results.items():
                    mlflow.log_metric(f"{model}_avg_mse", scores["mse"])
                    mlflow.log_metric(f"{model}_avg_mae", scores["mae"])
            def run(self, rounds):
                for results in rounds:
                    self._log_aggregates(results)
        """,
        [(6, "MLF102")],
    ),
}


@pytest.mark.parametrize("case", REPEATS.values(), ids=REPEATS.keys())
def test_a_mapping_logged_where_it_repeats_is_reported(
    case: tuple[str, list[tuple[int, str]]],
) -> None:
    source, expected = case
    assert codes(source) == expected


def test_nested_loops_over_names_once_per_run_need_every_item_in_the_key() -> None:
    # a report that logs each split's scores under "<split>_<name>" walks a schema of
    # split x name keys once: held like one loop over names
    source = """
        import mlflow
        def report(scores_by_split):
            for split in ("train", "valid", "test", "holdout"):
                for name, value in scores_by_split[split].items():
                    mlflow.log_metric(f"{split}_{name}", value)
    """
    assert codes(source) == []
    # a key that leaves out the outer item repeats with it: each split overwrites the last
    repeated = source.replace('f"{split}_{name}"', "name")
    assert codes(repeated) == [(5, "MLF105")]
    # nested in a loop the key does not name at all (an epoch): per epoch, reported
    per_epoch = """
        import mlflow
        def report(history):
            for epoch in history:
                for name, value in epoch.scores.items():
                    mlflow.log_metric(name, value)
    """
    assert codes(per_epoch) == [(5, "MLF105")]


def test_a_key_spelled_through_names_the_loops_assign_is_held_like_one_written_inline() -> None:
    # `key = f"{model}_{metric}"` (or a cleaned-up item: `safe = model.replace(" ", "_")`)
    # names both items as `f"{model}_{metric}"` does: the same schema of keys, once per run
    source = """
        import mlflow
        def compare(results):
            with mlflow.start_run(run_name="comparison"):
                for model, metrics in results.items():
                    safe = model.replace(" ", "_")
                    for metric, value in metrics.items():
                        key = f"{safe}_{metric}"
                        mlflow.log_metric(key, value)
    """
    assert codes(source) == []
    # a name the outer item does not flow into repeats the inner keys for each model
    repeated = source.replace('key = f"{safe}_{metric}"', 'key = f"best_{metric}"')
    assert codes(repeated) == [(9, "MLF101")]
    # nor does an item that only feeds what the inner loop walks (an epoch's scores)
    per_epoch = """
        import mlflow
        def report(model, epochs):
            for epoch in range(epochs):
                scores = model.evaluate(epoch)
                for name, value in scores.items():
                    key = f"val_{name}"
                    mlflow.log_metric(key, value)
    """
    assert [c for _, c in codes(per_epoch)] == ["MLF101"]


def test_the_same_param_in_a_once_per_run_loop_is_still_reported() -> None:
    # not a request count: the second value raises 'Changing param values is not allowed'
    source = """
        import mlflow
        def log_folds(scores):
            for fold, score in scores.items():
                mlflow.log_param("fold", fold)
    """
    assert codes(source) == [(5, "MLF301")]  # MLF301's finding: MLF106 does not echo it


def test_a_written_out_handful_is_not_reported_but_a_range_is() -> None:
    source = """
        import mlflow
        def log_splits(model):
            for split in ("train", "val", "test"):
                mlflow.log_metric(f"{split}_loss", model.loss(split))
        def log_curve(model, steps):
            for step in range(steps):
                mlflow.log_metric("loss", model.loss(step), step=step)
    """
    assert codes(source) == [(8, "MLF101")]


def test_a_flattened_config_is_open_ended() -> None:
    source = """
        import mlflow
        def log_inputs(params, flatten):
            inputs = dict(params)
            if flatten:
                inputs = flatten_dict(inputs, sep=".")
            for key, value in inputs.items():
                mlflow.log_param(key, value)
                print(key)
    """
    assert codes(source) == [(8, "MLF106")]


def test_a_helper_logging_item_by_item_in_a_loop_is_one_finding() -> None:
    # called on every shard: the helper's loop is MLF105's (with its fix), and the call site
    # does not echo it as MLF106
    source = """
        import mlflow
        def record(entries):
            for key, value in entries.items():
                mlflow.set_tag(key, value)
        for shard in load_shards():
            record(shard)
    """
    assert codes(source) == [(4, "MLF105")]
    # called once: a handful of tags once per run
    assert codes(source.replace("for shard in load_shards():", "if True:")) == []


def test_adjacent_calls_per_name_in_a_once_per_run_loop_count_as_once_per_run() -> None:
    # a few params for each schedule, once per fit: below min-calls-once like any handful
    source = """
        import mlflow
        class Callback:
            def before_fit(self, schedules):
                for name, values in schedules.items():
                    mlflow.log_param(f"{name}_min", min(values))
                    mlflow.log_param(f"{name}_max", max(values))
                    mlflow.log_param(f"{name}_first", values[0])
    """
    assert codes(source) == []
    # the same loop where the function runs on every epoch
    per_epoch = source.replace(
        "def before_fit(self, schedules)", "def on_epoch_end(self, schedules)"
    )
    assert (6, "MLF103") in codes(per_epoch)


# --- items guarded one by one -------------------------------------------------------------------
GUARDED = """
    import mlflow
    class Tracker:
        def __init__(self, run_id):
            self.client = mlflow.MlflowClient()
            self.run_id = run_id
        def log_metrics(self, metrics):
            for name, value in metrics.items():
                try:
                    self.client.log_metric(self.run_id, name, float(value))
                except (TypeError, ValueError):
                    print("not a number:", name)
        def log_params(self, params):
            for name, value in params.items():
                try:
                    mlflow.log_param(name, value)
                except mlflow.exceptions.MlflowException:
                    continue
"""


def test_tags_and_params_interfaces_are_once_per_run_where_a_metrics_one_is_not() -> None:
    """`set_tags(self, tags)` labels a run with a handful of tags, once, and `log_params(self,
    params)` logs its config once (a run takes one value per param key): held like other
    once-per-run loops. A metrics interface runs on every step: it stays reported."""
    source = """
    import mlflow
    class Tracker:
        def set_tags(self, tags):
            for key, value in tags.items():
                mlflow.set_tag(key, value)
        def log_params(self, params):
            for key, value in params.items():
                mlflow.log_param(key, value)
        def log_metrics(self, metrics, step):
            for key, value in metrics.items():
                mlflow.log_metric(key, value, step=step)
    """
    assert codes(source) == [(11, "MLF105")]
    looped = (
        source.rstrip(" ") + "        def label_all(self, runs):\n            for tags in runs:\n"
    )
    looped += "                self.set_tags(tags)\n                self.log_params(tags)\n"
    assert [c for c in codes(looped) if c[0] < 11] == [(5, "MLF105"), (8, "MLF105")]


def test_a_logging_interface_that_guards_each_item_is_judged_once_per_run() -> None:
    # a client interface that logs what its caller hands it is reported as it is (its
    # callers decide how often and which run); guarding item by item makes its one request per item a choice (a
    # batch would fail as a whole where the loop loses just the bad item): held like the rest
    assert codes(GUARDED) == []
    unguarded = GUARDED.replace("except (TypeError, ValueError):", "finally:").replace(
        "except mlflow.exceptions.MlflowException:\n                    continue",
        "finally:\n                    pass",
    )
    assert [c for _, c in codes(unguarded)] == ["MLF101"]  # (its params: once per run)
    # still reported where the file calls it in a loop
    looped = GUARDED + "        def replay(self, history):\n            for row in history:\n"
    looped += "                self.log_metrics(row)\n"
    assert "MLF101" in [c for _, c in codes(looped)]


@pytest.mark.parametrize(
    "change",
    [
        # the handler re-raises: nothing is kept that a batch would lose
        ('print("not a number:", name)', "raise"),
        # one key over the items: a history, not a set of names
        ("log_metric(self.run_id, name,", "log_metric(self.run_id, 'score',"),
    ],
)
def test_guarded_items_still_reported_when_the_guard_keeps_nothing_or_the_key_is_one(
    change: tuple[str, str],
) -> None:
    assert "MLF101" in [c for _, c in codes(GUARDED.replace(*change))]


NESTED_CONFIG = """
    import mlflow


    def log_params_dict(params, prefix=""):
        for name, value in params.items():
            key = f"{prefix}.{name}" if prefix else name
            if isinstance(value, dict):
                log_params_dict(value, key)
                continue
            try:
                mlflow.log_param(key, value)
            except mlflow.exceptions.MlflowException:
                continue
"""


def test_a_guarded_interface_that_descends_into_nested_params_runs_once_per_run() -> None:
    # calling itself for a nested mapping is one walk of one config, not a loop that repeats
    # the function: the guarded interface stays once per run
    assert codes(NESTED_CONFIG) == []
    # called for every trial of a sweep, it repeats with the trials
    per_trial = NESTED_CONFIG + "\n    def log_trials(trials):\n        for trial in trials:\n"
    per_trial += "            log_params_dict(trial.params)\n"
    assert [c for _, c in codes(per_trial)] == ["MLF106"]


GUARDING_HELPER = """
    import contextlib

    from mlflow import MlflowClient


    def _log_one(client: MlflowClient, run_id, key, value):
        with contextlib.suppress(Exception):
            client.log_param(run_id, key, str(value)[:500])


    def log_params(client: MlflowClient, run_id, params):
        for key, value in params.items():
            _log_one(client, run_id, key, value)
"""


def test_an_interface_whose_helper_guards_each_write_is_judged_once_per_run() -> None:
    # the guard may sit in the helper the loop calls, not in the loop: the same choice
    assert codes(GUARDING_HELPER) == []
    # without the guard the interface is reported, through its helper
    unguarded = GUARDING_HELPER.replace("with contextlib.suppress(Exception):", "if True:")
    assert [c for _, c in codes(unguarded)] == ["MLF106"]
    # a helper that logs at a changing step logs a history, guarded or not
    stepped = GUARDING_HELPER.replace(
        "client.log_param(run_id, key, str(value)[:500])",
        "client.log_metric(run_id, key, value, step=key)",
    )
    assert [c for _, c in codes(stepped)] == ["MLF101"]
    # and the file calling the interface in a loop repeats it
    looped = GUARDING_HELPER + "\n    def log_trials(client, run_ids, trials):\n"
    looped += "        for run_id, trial in zip(run_ids, trials):\n"
    looped += "            log_params(client, run_id, trial)\n"
    assert (14, "MLF106") in codes(looped)


def test_a_loop_over_names_in_a_run_its_function_opens_is_once_per_run_however_called() -> None:
    # a sweep's trial function opens its run: called in a loop, each call is a run of its own
    source = """
        import mlflow
        def train(params, features, model):
            with mlflow.start_run():
                model.fit()
                for name, importance in zip(features, model.importances):
                    mlflow.log_metric(f"importance_{name}", importance)
        def sweep(grid, features, model):
            for params in grid:
                train(params, features, model)
    """
    assert codes(source) == []
    # logging into the caller's run, the loop repeats with the sweep
    shared = source.replace("with mlflow.start_run():", "if True:")
    assert [c for _, c in codes(shared)] == ["MLF101"]


BEST_SO_FAR = """
    import mlflow
    class Checkpointer:
        def on_validation_end(self, epoch, scores):
            mlflow.log_metric("val_f1", scores["f1"], step=epoch)
            if scores["f1"] >= self.best_f1:
                self.best_f1 = scores["f1"]
                mlflow.log_metric("best_f1", self.best_f1, step=epoch)
                mlflow.log_metric("best_epoch", epoch, step=epoch)
    def fit(model, loader, epochs):
        lowest = None
        for epoch in range(epochs):
            for batch in loader:
                model.step(batch)
            loss = model.validate()
            is_best = lowest is None or loss < lowest
            if is_best:
                lowest = loss
                mlflow.log_metric("best_val_loss", loss)
                mlflow.log_param("best_epoch_seen", "yes")
"""


def test_calls_that_record_a_new_best_are_not_per_step() -> None:
    # a new best comes a few times over a training: merging the pair or buffering the
    # running best saves a request per improvement, and its latest value is the one read
    assert codes(BEST_SO_FAR) == []
    # the same calls on every validation batch are per step: reported (once per epoch, a
    # pair is below MLF102's min-calls-epoch)
    every_time = BEST_SO_FAR.replace('if scores["f1"] >= self.best_f1:', "if True:")
    assert (8, "MLF102") not in codes(every_time)
    every_batch = every_time.replace("on_validation_end", "on_validation_batch_end")
    assert (8, "MLF102") in codes(every_batch)
    every_epoch = BEST_SO_FAR.replace("if is_best:", "if lowest is not None:")
    assert {c for _, c in codes(every_epoch)} == {"MLF106", "MLF108"}
    # a setting that names the best (save the best model?) holds on every epoch alike
    every_epoch = BEST_SO_FAR.replace("if is_best:", "if model.save_best:")
    assert {c for _, c in codes(every_epoch)} == {"MLF106", "MLF108"}


@pytest.mark.parametrize(
    "test",
    [
        "epoch == 1 or val_f1 >= best_f1",  # the first epoch is the best so far
        "best_loss is None or loss < best_loss",
        "val_f1 >= best_f1 and save_figures",  # a new best, and a setting
    ],
)
def test_a_new_best_joined_with_a_first_time_test_is_still_a_new_best(test: str) -> None:
    source = f"""
        import mlflow
        def fit(model, loader, epochs, save_figures):
            best_f1, best_loss = 0.0, None
            for epoch in range(1, epochs + 1):
                loss, val_f1 = model.train_epoch(loader)
                if {test}:
                    best_f1, best_loss = val_f1, loss
                    mlflow.log_metric("best_auc", model.auc())
    """
    assert codes(source) == []


@pytest.mark.parametrize("test", ["epoch > 1 or val_f1 >= best_f1", "epoch == n or is_best"])
def test_a_new_best_or_a_test_that_holds_often_is_every_epoch(test: str) -> None:
    source = f"""
        import mlflow
        def fit(model, loader, epochs, n):
            best_f1 = 0.0
            for epoch in range(1, epochs + 1):
                val_f1 = model.train_epoch(loader)
                is_best = val_f1 >= best_f1
                if {test}:
                    mlflow.log_metric("best_auc", model.auc())
    """
    assert (9, "MLF108") in codes(source)
