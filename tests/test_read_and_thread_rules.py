"""MLF201 (tracking-read-in-loop) and MLF306 (fluent-logging-in-threads): what they flag, what
they leave alone, and what their messages advise."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import lint, run_cli

from mlflow_lint import engine
from mlflow_lint.config import build_settings

HEAD = """\
import time
import threading
from concurrent.futures import ThreadPoolExecutor

import mlflow
from mlflow import MlflowClient

client = MlflowClient()
"""


def lines(source: str, code: str) -> list[int]:
    return [line for line, _, c in lint(HEAD + textwrap.dedent(source), select=[code]) if c == code]


def messages(source: str, code: str) -> list[str]:
    return [message for message, _ in advice(source, code)]


def advice(source: str, code: str) -> list[tuple[str, str]]:
    """(message, help) of each finding of `code`."""
    settings = build_settings(None, select=[code])
    text = HEAD + textwrap.dedent(source)
    violations = engine.analyze(text, "t.py", settings.rules_for("t.py"), settings)
    return [(v.message, v.help) for v in violations if v.code == code]


# --- MLF306: fluent calls given run_id= log to that run ------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        'mlflow.log_metric("m", i, run_id=rid)',
        'mlflow.log_metric("m", i, None, None, None, rid)',  # run_id by position
        'mlflow.log_metrics({"m": i}, run_id=rid)',
        'mlflow.log_params({"p": i}, run_id=rid)',
        'mlflow.log_artifact("model.pkl", run_id=rid)',
        'mlflow.log_text("hello", "notes.txt", run_id=rid)',
    ],
)
def test_mlf306_a_fluent_call_with_run_id_is_not_flagged(call: str) -> None:
    source = f"""
        def work(rid, i):
            {call}

        with mlflow.start_run() as run:
            with ThreadPoolExecutor() as pool:
                pool.submit(work, run.info.run_id, 1)
            threading.Thread(target=work, args=(run.info.run_id, 2)).start()
    """
    assert lines(source, "MLF306") == []


def test_mlf306_run_id_in_a_lambda_worker_is_not_flagged() -> None:
    source = """
        with mlflow.start_run() as run:
            rid = run.info.run_id
            with ThreadPoolExecutor() as pool:
                pool.map(lambda i: mlflow.log_metrics({"m": i}, run_id=rid), range(3))
    """
    assert lines(source, "MLF306") == []


@pytest.mark.parametrize(
    "call",
    [
        'mlflow.log_param("p", i)',
        'mlflow.set_tag("t", i)',
        'mlflow.set_tags({"t": i})',
        'mlflow.log_metric("m", i, run_id=None)',  # None: the active run, i.e. none here
        'mlflow.log_metric("m", i)',
    ],
)
def test_mlf306_calls_that_cannot_name_the_run_stay_flagged(call: str) -> None:
    source = f"""
        def work(rid, i):
            {call}

        with ThreadPoolExecutor() as pool:
            pool.submit(work, "r", 1)
    """
    assert lines(source, "MLF306") == [14]


def test_mlf306_a_later_call_without_run_id_is_still_flagged() -> None:
    source = """
        def work(rid, i):
            mlflow.log_metric("m", i, run_id=rid)
            mlflow.set_tag("done", "yes")

        with ThreadPoolExecutor() as pool:
            pool.submit(work, "r", 1)
    """
    [message] = messages(source, "MLF306")
    assert "`work -> mlflow.set_tag`" in message


@pytest.mark.parametrize(
    ("call", "advice"),
    [
        ('mlflow.log_metric("m", i)', "`MlflowClient().log_metric(run_id, key, value)`"),
        ('mlflow.log_param("p", i)', "`MlflowClient().log_param(run_id, key, value)`"),
        ('mlflow.set_tag("t", i)', "`MlflowClient().set_tag(run_id, key, value)`"),
        ('mlflow.log_metrics({"m": i})', "`mlflow.log_metrics(..., run_id=run_id)`"),
        ('mlflow.log_params({"p": i})', "`mlflow.log_params(..., run_id=run_id)`"),
        ('mlflow.set_tags({"t": i})', "`MlflowClient().log_batch(run_id, tags=[...])`"),
        ('mlflow.log_artifact("f.txt")', "`MlflowClient().log_artifact(run_id, ...)`"),
        ('mlflow.log_artifacts("out")', "`MlflowClient().log_artifacts(run_id, ...)`"),
        ('mlflow.log_figure(fig, "f.png")', "`MlflowClient().log_figure(run_id, ...)`"),
    ],
)
def test_mlf306_message_names_the_matching_explicit_run_call(call: str, advice: str) -> None:
    source = f"""
        def work(i, fig=None):
            {call}

        threading.Thread(target=work, args=(1,)).start()
    """
    settings = build_settings(None, select=["MLF306"])
    text = HEAD + textwrap.dedent(source)
    [found] = engine.analyze(text, "t.py", settings.rules_for("t.py"), settings)
    assert found.help.endswith(f"pass the parent's run id explicitly, with {advice}")
    assert "\n" not in found.message + found.help


# --- MLF201: a loop body that runs at most once ---------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        "for rid in ids:\n        return client.get_run(rid)",
        "for rid in ids:\n        raise ValueError(client.get_run(rid).info.status)",
        "for rid in ids: return client.get_run(rid)",
        "for rid in ids:\n        x = 1; return client.get_run(rid)",
        "for group in groups:\n        for rid in group:\n            return client.get_run(rid)",
        "for rid in ids:\n        if rid.startswith('a'):\n            return mlflow.get_run(rid)",
        "while ids:\n        return client.get_run(ids.pop())",
    ],
)
def test_mlf201_a_read_in_a_return_or_raise_that_ends_the_loop_is_not_flagged(body: str) -> None:
    source = f"""
def first(ids, groups):
    {body}
"""
    assert lines(source, "MLF201") == []


def test_mlf201_a_comprehension_inside_the_return_is_still_a_loop() -> None:
    source = """
        def first(groups):
            for group in groups:
                return [client.get_run(rid) for rid in group]
    """
    assert lines(source, "MLF201") == [12]


def test_mlf201_a_return_of_something_else_does_not_exempt_the_read() -> None:
    source = """
        def find(ids):
            for rid in ids:
                run = client.get_run(rid)
                if run.info.status == "FAILED":
                    return run
    """
    assert lines(source, "MLF201") == [12]


@pytest.mark.parametrize(
    ("code", "call"),
    [
        ("MLF101", 'mlflow.log_metric("loss", x)'),
        ("MLF106", 'mlflow.log_param("lr", x)'),
        ("MLF109", 'mlflow.log_dict({"x": x}, f"x_{x}.json")'),
    ],
)
def test_other_loop_rules_skip_a_call_in_a_return_that_ends_the_loop(code: str, call: str) -> None:
    ended = f"""
        def first(xs):
            with mlflow.start_run():
                for x in xs:
                    return {call}
    """
    assert lines(ended, code) == []
    repeated = ended.replace("return ", "")
    assert lines(repeated, code) == [13]


# --- MLF201: pagination only when the loop advances the token -----------------------------------
def test_mlf201_page_token_none_is_not_pagination() -> None:
    source = """
        for experiment_id in experiment_ids:
            client.search_runs([experiment_id], page_token=None)
    """
    assert lines(source, "MLF201") == [11]


def test_mlf201_a_page_token_the_loop_never_assigns_is_not_pagination() -> None:
    source = """
        token = start_token
        for experiment_id in experiment_ids:
            client.search_runs([experiment_id], page_token=token)
    """
    assert lines(source, "MLF201") == [12]


@pytest.mark.parametrize(
    "source",
    [
        """
        token = None
        while True:
            page = client.search_runs(ids, max_results=100, page_token=token)
            token = page.token
            if not token:
                break
        """,
        """
        page = client.search_runs(ids)
        while page.token:
            page = client.search_runs(ids, page_token=page.token)
        """,
        """
        class Pager:
            def all(self, ids):
                self.token = None
                for _ in range(100):
                    page = client.search_runs(ids, page_token=self.token)
                    self.token = page.token
        """,
        """
        def fetch(ids, token):
            return client.search_runs(ids, page_token=token)

        token = None
        while True:
            page = fetch(ids, token)
            token = page.token
        """,
    ],
    ids=["name", "attribute-of-reassigned", "self-attribute", "helper-parameter"],
)
def test_mlf201_a_loop_that_advances_the_page_token_is_pagination(source: str) -> None:
    assert lines(source, "MLF201") == []


# --- MLF201: while loops -----------------------------------------------------------------------
def test_mlf201_flags_a_while_loop_draining_a_queue() -> None:
    source = """
        while queue:
            client.get_run(queue.pop())
    """
    assert lines(source, "MLF201") == [11]


def test_mlf201_flags_a_read_through_a_helper_in_a_while_loop() -> None:
    source = """
        def status(rid):
            return mlflow.get_run(rid).info.status

        while pending:
            status(pending.pop())
    """
    [message] = messages(source, "MLF201")
    assert message.startswith("`status -> mlflow.get_run` in a loop")


@pytest.mark.parametrize(
    "source",
    [
        """
        while client.get_run(rid).info.status != "FINISHED":
            time.sleep(1)
        """,
        """
        while True:
            run = client.get_run(rid)
            if run.info.status == "FINISHED":
                break
            time.sleep(5)
        """,
        """
        while True:
            run = client.get_run(rid)
            break
        """,
    ],
    ids=["polling-test", "polling-body", "runs-once"],
)
def test_mlf201_while_loops_that_poll_or_run_once_are_not_flagged(source: str) -> None:
    assert lines(source, "MLF201") == []


# --- MLF201: advice for experiment lookups --------------------------------------------------------
def test_mlf201_experiment_lookup_by_loop_variable_suggests_search_experiments() -> None:
    source = """
        for name in names:
            mlflow.get_experiment_by_name(name)
        experiments = [client.get_experiment_by_name(n) for n in names]
        for cfg in configs:
            experiment_name = cfg["experiment"]
            mlflow.set_experiment(experiment_name)
    """
    fluent, in_client, set_exp = advice(source, "MLF201")
    assert all("call it once before the loop" not in help for _, help in advice(source, "MLF201"))
    assert fluent == (
        "`mlflow.get_experiment_by_name` in a loop sends one tracking request per iteration (N+1)",
        "Fetch the experiments with one `mlflow.search_experiments()` call before the loop and "
        "pick them by name: its filter_string has no `name IN (...)`",
    )
    assert "`MlflowClient().search_experiments()`" in in_client[1]
    assert set_exp[1] == fluent[1]  # the loop starts no run: nothing to pass experiment_id to
    starts_runs = """
        for cfg in configs:
            mlflow.set_experiment(cfg["experiment"])
            with mlflow.start_run():
                mlflow.log_params(cfg)
    """
    ((_, help_text),) = advice(starts_runs, "MLF201")
    assert help_text.endswith(", then pass `experiment_id=` to `mlflow.start_run`")


def test_mlf201_loop_invariant_experiment_lookup_keeps_the_hoisting_advice() -> None:
    source = """
        for epoch in range(10):
            mlflow.set_experiment("training")
            mlflow.get_experiment_by_name(EXPERIMENT)
    """
    found = advice(source, "MLF201")
    assert len(found) == 2
    assert all(
        m.endswith("in a loop repeats the same request on every iteration") for m, _ in found
    )
    assert all(h.endswith(": call it once before the loop and reuse the result") for _, h in found)


# --- end to end ---------------------------------------------------------------------------------
def test_cli_reports_the_fixed_behaviour(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(
        HEAD
        + textwrap.dedent(
            """
            def first(ids):
                for rid in ids:
                    return client.get_run(rid)

            def drain(queue):
                while queue:
                    client.get_run(queue.pop())

            def work(rid, i):
                mlflow.log_metric("m", i, run_id=rid)

            def tag(i):
                mlflow.set_tag("t", i)

            with ThreadPoolExecutor() as pool:
                pool.submit(work, "r", 1)
                pool.submit(tag, 1)
            """
        )
    )
    result = run_cli("check", "--no-cache", "--select", "MLF201,MLF306", "train.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    found = [line.split(" ", 2)[:2] for line in result.stdout.splitlines() if ": MLF" in line]
    assert found == [["train.py:16:9:", "MLF201"], ["train.py:26:5:", "MLF306"]]
    assert "`tag -> mlflow.set_tag`" in result.stdout  # the advice is in `help` (tested above)


def test_mlf305_async_logging_in_a_framework_callback_is_not_flagged() -> None:
    """A Keras/Lightning/transformers callback logs inside a run its caller owns (found on
    mlflow/keras/callback.py); the same call in a plain function of a script that starts a
    run and never ends it is still flagged."""
    callback = """
    import keras
    from mlflow import log_metrics
    class MlflowCallback(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            log_metrics(logs, step=epoch, synchronous=False)
    """
    assert lint(callback, select=["MLF305"]) == []
    plain = """
    from mlflow import log_metrics, start_run
    def on_epoch_end(epoch, logs):
        log_metrics(logs, step=epoch, synchronous=False)
    start_run()
    for epoch in range(3):
        on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    """
    assert [code for _, _, code in lint(plain, select=["MLF305"])] == ["MLF305"]


# --- MLF201: a read that feeds a loop of tracking calls ---------------------------------------
def test_mlf201_read_whose_result_a_nested_loop_walks_with_tracking_calls_is_not_flagged() -> None:
    fans_out = """
        def convert(run):
            return client.get_metric_history(run.info.run_id, "acc")

        for experiment in experiments:
            runs = client.search_runs([experiment.experiment_id])
            for run in runs:
                history = client.get_metric_history(run.info.run_id, "loss")
        for experiment in experiments:
            for run in client.search_runs([experiment.experiment_id]):
                convert(run)

        def collect_metrics(run, tracker):
            return tracker.get_metric_history(run.info.run_id, "loss")

        for experiment in experiments:
            runs = client.search_runs([experiment.experiment_id])
            for run in tqdm(runs):
                collect_metrics(run, client)  # a helper given the client

        def process(run):
            for key in run.data.metrics:
                client.get_metric_history(run.info.run_id, key)

        for run_id in closed_run_ids:
            run = client.get_run(run_id)
            process(run)  # reads every history of the run it is given

        from converters import collect_metrics as collect

        class Watcher:
            def __init__(self):
                self._client = MlflowClient()

            def _process(self, run):
                collect(run, self._client)  # another module's function, given the client

            def watch(self, closed_run_ids):
                for run_id in closed_run_ids:
                    self._process(self._client.get_run(run_id))
    """
    assert lines(fans_out, "MLF201") == []  # the history reads have no batched form
    # a nested loop that only uses the result in memory leaves the read the whole cost
    in_memory = """
        for experiment in experiments:
            runs = client.search_runs([experiment.experiment_id])
            for run in runs:
                print(run.info.run_id)
    """
    assert ["search_runs" in m for m in messages(in_memory, "MLF201")] == [True]
    # a helper that makes no tracking call leaves the read the whole cost
    summarised = """
        def summarise(run):
            return run.data.metrics["loss"]

        for run_id in run_ids:
            run = client.get_run(run_id)
            summarise(run)
        for run_id in run_ids:
            summarise(client.get_run(run_id))
    """
    assert ["get_run" in m for m in messages(summarised, "MLF201")] == [True, True]


def test_mlf305_a_configuration_module_that_only_switches_async_on_is_not_flagged() -> None:
    """A settings module turns async logging on for the program and neither starts nor
    writes to a run: the runs and their ends are in the modules that import it. The same
    switch in a module that logs is still flagged."""
    settings = """
    import os
    import mlflow
    if os.getenv("MLFLOW_TRACKING_URI"):
        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.config.enable_async_logging()
    """
    assert lint(settings, select=["MLF305"]) == []
    logging = settings.rstrip(" ") + "    mlflow.log_metric('loss', 0.5)\n"
    assert [line for line, _, _ in lint(logging, select=["MLF305"])] == [6]
