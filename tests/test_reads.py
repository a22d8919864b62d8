"""Loops that are not N+1 (issue #12 items 3 and 6), MLF201's advice by the shape of the read,
and one finding per problem between MLF201 and MLF202. Each exemption is shown next to the
same code without the shape that exempts it, which is still flagged."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from mlflow_lint import engine
from mlflow_lint.config import build_settings

HEAD = """\
import asyncio
import queue
import subprocess
import threading
import time

import click
import mlflow
from mlflow import MlflowClient

client = MlflowClient()
"""


def findings(
    source: str, *codes: str, path: str = "t.py", head: str = HEAD
) -> list[tuple[int, str, str, str]]:
    """(line, code, message, help) of each finding of `codes`, lines counted in `source`;
    MLF202 reports clients built by helpers too (its `through-helpers` option)."""
    settings = dataclasses.replace(
        build_settings(None, select=list(codes)),
        rule_options={"MLF202": {"through-helpers": True}},
    )
    text = head + textwrap.dedent(source)
    offset = head.count("\n")
    return [
        (v.line - offset, v.code, v.message, v.help)
        for v in engine.analyze(text, path, settings.rules_for(path), settings)
    ]


def lines(source: str, code: str) -> list[int]:
    return [line for line, *_ in findings(source, code)]


# --- polling and interactive loops --------------------------------------------------------------
@pytest.mark.parametrize(
    "wait",
    [
        "time.sleep(5)",
        "stop.wait(5)",
        "condition.wait()",
        "item = jobs.get(timeout=1)",
        "name = input('run id: ')",
        "name = click.prompt('run id')",
        "ok = click.confirm('again?')",
        "self._sleep(15)",  # `self._sleep = time.sleep`, swapped out in tests
        "_sleep(15)",
    ],
)
@pytest.mark.parametrize("code", ["MLF201", "MLF202"])
def test_a_loop_that_waits_on_each_iteration_is_not_flagged(wait: str, code: str) -> None:
    source = f"""
    def watch(rid):
        while True:
            run = MlflowClient().get_run(rid)
            if run.info.status == "FINISHED":
                break
            {wait}
    """
    assert lines(source, code) == []
    assert lines(source.replace(wait, "pass"), code) == [4]


@pytest.mark.parametrize("wait", ["time.sleep(5)", "stop.wait(5)", "event = events.get(timeout=1)"])
def test_a_poll_that_logs_what_it_sees_sends_requests_at_its_pace(wait: str) -> None:
    """A request or two per wait is no burst: the request-count rules leave polls alone, while
    the rules about what gets stored (the same param each time) still look at them."""
    source = f"""
    def follow(job, run_id):
        while not job.done():
            mlflow.log_metric("progress", job.progress(), step=job.steps())
            {wait}
    """
    assert lines(source, "MLF101") == []
    assert lines(source.replace(wait, "pass"), "MLF101") == [4]
    param = source.replace(
        'mlflow.log_metric("progress", job.progress(), step=job.steps())',
        'mlflow.log_param("job", job.name)',
    )
    assert lines(param, "MLF106") == [4]


@pytest.mark.parametrize(
    "job",
    [
        "subprocess.run(command, shell=True, check=True)",
        "subprocess.check_call(command)",
        "os.system(command)",
        "out, _ = worker.communicate()",
    ],
)
def test_a_loop_that_runs_a_process_per_iteration_is_paced_by_it(job: str) -> None:
    """A sweep agent: each iteration proposes a trial, records it and runs the training as a
    child process. One request per trial waits for minutes of work, and the table it appends
    to may be read back by the next proposal: no burst to batch."""
    source = f"""
    import os
    def agent(sampler, command):
        while True:
            proposal = sampler.propose_next()
            mlflow.log_table({{"lr": [proposal]}}, artifact_file="proposed.json")
            mlflow.log_metric("proposed", proposal)
            {job}
    """
    assert lines(source, "MLF109") == []
    assert lines(source, "MLF101") == []
    assert lines(source.replace(job, "pass"), "MLF109") == [6]
    assert lines(source.replace(job, "pass"), "MLF101") == [7]
    # a call named `run` on anything but the subprocess module is not a process
    assert lines(source.replace(job, "pipeline.run(proposal)"), "MLF109") == [6]


def test_asyncio_sleep_paces_an_async_loop() -> None:
    source = """
    async def watch(rids):
        for rid in rids:
            client.get_run(rid)
            await asyncio.sleep(1)
    """
    assert lines(source, "MLF201") == []
    assert lines(source.replace("await asyncio.sleep(1)", "pass"), "MLF201") == [4]


def test_an_input_loop_that_exits_on_success_is_not_flagged() -> None:
    source = """
    def choose():
        while True:
            name = click.prompt("experiment")
            experiment = client.get_experiment_by_name(name)
            if experiment is not None:
                return experiment
    """
    assert findings(source, "MLF201") == []


# --- a call that runs on one iteration at most --------------------------------------------------
@pytest.mark.parametrize(
    "guard",
    [
        "if i == best:",
        "if best == i:",
        "if i is best and verbose:",
        "if i == len(rids) - 1:",
    ],
)
def test_an_equality_with_the_loop_variable_holds_once(guard: str) -> None:
    source = f"""
    def pick(rids, best, verbose):
        for i, rid in enumerate(rids):
            {guard}
                client.get_run(rid)
    """
    assert lines(source, "MLF201") == []


@pytest.mark.parametrize(
    "guard",
    [
        "if i == best[i]:",  # the other side changes too
        "if run.info.status == 'FAILED':",  # a filter, not the loop's own variable
        "if i != best:",
        "if i == best or i == 0:",
    ],
)
def test_other_guards_still_run_on_many_iterations(guard: str) -> None:
    source = f"""
    def pick(runs, best):
        for i, run in enumerate(runs):
            {guard}
                client.get_run(run.info.run_id)
    """
    assert lines(source, "MLF201") == [5]


def test_a_counter_the_loop_steps_holds_once_against_an_invariant() -> None:
    source = """
    class Merger:
        def merge(self, runs, best_iteration):
            for run in runs:
                if self.counter == best_iteration:
                    client.get_run(run.info.run_id)
                self.counter += 1
    """
    assert lines(source, "MLF201") == []


@pytest.mark.parametrize("test", ["self._experiment is None", "not self._experiment"])
def test_a_first_time_guard_holds_once(test: str) -> None:
    source = f"""
    class Tracker:
        def record(self, values):
            for value in values:
                if {test}:
                    self._experiment = client.get_experiment_by_name("train")
                self.values.append(value)
    """
    assert lines(source, "MLF201") == []
    reset = source.replace(
        "self.values.append(value)",
        "self.values.append(value)\n                self._experiment = None",
    )
    assert lines(reset, "MLF201") == [6]


def test_the_guard_exempts_every_loop_rule() -> None:
    source = """
    with mlflow.start_run():
        for step in range(100):
            if step == best_step:
                mlflow.log_metric("best_loss", 0.1, step=step)
    """
    assert lines(source, "MLF101") == []
    assert lines(source.replace("if step == best_step:", "if step > 1:"), "MLF101") == [5]


def test_a_setting_read_under_its_own_key_stays_invariant_when_another_key_changes() -> None:
    # a schedule's start, read from the settings dict the loop writes another entry of:
    # `cfg["warmup_end"]` keeps its value, so the guard still holds on one step at most
    source = """
    with mlflow.start_run():
        for step in range(1, cfg["steps"] + 1):
            if step == cfg["warmup_end"]:
                cfg['lr_scale'] = 0.1
                mlflow.log_metric("lr_scale", cfg["lr_scale"])
    """
    assert lines(source, "MLF101") == lines(source, "MLF108") == []
    # the same key written in the loop (however it is quoted), or the dict rebuilt: not once
    for change in ("cfg['warmup_end'] = step", "cfg = dict(cfg)", "cfg.update(lr_scale=0.1)"):
        changed = source.replace("cfg['lr_scale'] = 0.1", change)
        assert lines(changed, "MLF101") == [6], change


# --- helpers that read only when the caller passes nothing --------------------------------------
@pytest.mark.parametrize(
    "helper",
    [
        """
        def experiment_id_of(name, experiment_id=None):
            if experiment_id is None:
                experiment_id = mlflow.get_experiment_by_name(name).experiment_id
            return experiment_id
        """,
        """
        def experiment_id_of(name, experiment_id=None):
            return experiment_id or mlflow.get_experiment_by_name(name).experiment_id
        """,
        """
        def experiment_id_of(name, experiment_id=None):
            if experiment_id is not None:
                return experiment_id
            else:
                return mlflow.get_experiment_by_name(name).experiment_id
        """,
        """
        def experiment_id_of(name, experiment_id=None):
            return (
                mlflow.get_experiment_by_name(name).experiment_id
                if experiment_id is None
                else experiment_id
            )
        """,
    ],
    ids=["if-is-none", "or", "else-of-is-not-none", "conditional-expression"],
)
def test_a_read_under_a_none_guard_is_skipped_when_the_loop_passes_the_parameter(
    helper: str,
) -> None:
    passes = textwrap.dedent(helper) + "\nids = [experiment_id_of(n, default_id) for n in names]\n"
    assert lines(passes, "MLF201") == []
    by_keyword = passes.replace("(n, default_id)", "(n, experiment_id=default_id)")
    assert lines(by_keyword, "MLF201") == []
    omits = passes.replace("(n, default_id)", "(n)")
    assert len(lines(omits, "MLF201")) == 1
    passes_none = passes.replace("(n, default_id)", "(n, None)")
    assert len(lines(passes_none, "MLF201")) == 1


def test_a_method_called_on_self_maps_arguments_after_self() -> None:
    source = """
    class Exporter:
        def resolve(self, name, client=None):
            if client is None:
                client = MlflowClient()
            return client.get_experiment(name)

        def run(self, names, shared):
            for name in names:
                self.resolve(name, shared)
    """
    assert findings(source, "MLF202") == []
    ((_, code, _, help),) = findings(source, "MLF201", "MLF202")  # still one lookup per id
    assert code == "MLF201" and "also builds" not in help
    omits = source.replace("(name, shared)", "(name)")
    assert [code for _, code, *_ in findings(omits, "MLF202")] == ["MLF202"]
    assert [code for _, code, *_ in findings(omits, "MLF201", "MLF202")] == ["MLF201"]


# --- while loops that stop on what they read ----------------------------------------------------
def test_a_retry_loop_with_a_new_value_each_time_is_not_flagged() -> None:
    source = """
    def unique_name(experiment_id, name):
        while client.search_runs([experiment_id], f"attributes.run_name = '{name}'"):
            name = name + "-1"
        return name
    """
    assert findings(source, "MLF201") == []


def test_a_tight_loop_on_the_same_read_is_a_poll_without_wait() -> None:
    source = """
    def wait_for(rid):
        while client.get_run(rid).info.status == "RUNNING":
            pass
        for _ in range(100):
            run = client.get_run(rid)
            if run.info.status != "RUNNING":
                break
    """
    found = findings(source, "MLF201")
    assert [line for line, *_ in found] == [3, 6]
    for _, _, message, help in found:
        assert message == "`MlflowClient.get_run` polls in a loop without waiting between requests"
        assert help.startswith("Wait between reads (`time.sleep(interval)`")


# --- fixed handfuls -----------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["MLF201", "MLF202"])
def test_a_written_out_iterable_of_three_items_or_fewer_is_not_flagged(code: str) -> None:
    source = """
    for experiment_id in ("1", "2", "3"):
        MlflowClient().get_experiment(experiment_id)
    """
    assert lines(source, code) == []
    four = source.replace('("1", "2", "3")', '("1", "2", "3", "4")')
    assert lines(four, code) == [3]
    assert lines(source.replace('("1", "2", "3")', "experiment_ids"), code) == [3]


@pytest.mark.parametrize("code", ["MLF201", "MLF101"])
def test_a_name_bound_to_one_written_out_item_walks_it_once(code: str) -> None:
    # a notebook cell that picks one run, then loops over the pick: one request
    call = "mlflow.get_run(x)" if code == "MLF201" else "mlflow.log_metric('score', len(x))"
    source = f"""\
    picked = ["ecc6f58b340a4f8b9dc59a9265cec3ab"]
    for x in picked:
        print({call})
    """
    assert lines(source, code) == []
    # two picks are a list that grows with the notebook, as the rules' examples show
    assert lines(source.replace('"]', '", "b"]'), code) == [3]
    # and one pick that something may add to before the loop is not one any more
    grown = source.replace("for x", "picked.extend(more)\n    for x")
    assert lines(grown, code) == [4]


# --- advice by the shape of the read ------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "advice"),
    [
        ("client.get_run(x)", "attributes.run_id IN ('id1', 'id2')"),
        ("mlflow.get_run(x)", "attributes.run_id IN ('id1', 'id2')"),
        ("client.get_experiment(x)", "experiment_id IN ('1', '2')"),
        ("client.get_registered_model(x)", 'search_registered_models(filter_string="name IN'),
        ("client.get_model_version(x, '1')", 'search_model_versions(filter_string="name IN'),
        ("client.get_logged_model(x)", "model_id IN ('m-1', 'm-2')"),
        ("client.get_trace(x)", "trace.request_id IN ('tr-1', 'tr-2')"),
        ("client.search_runs([x])", "`experiment_ids` takes a list"),
        ("client.search_model_versions(f\"name = '{x}'\")", "one broader `search_model_versions`"),
    ],
)
def test_a_read_with_a_batched_form_advises_it(call: str, advice: str) -> None:
    source = f"""
    for x in items:
        {call}
    """
    ((_, _, message, help),) = findings(source, "MLF201")
    assert message.endswith("in a loop sends one tracking request per iteration (N+1)")
    assert advice in help and help.startswith("Fetch ")
    # search_experiments filters on experiment_id only from MLflow 3.17.0 on
    assert ("(MLflow 3.17 and later" in help) == ("get_experiment(" in call)


@pytest.mark.parametrize(
    "call",
    [
        "client.get_metric_history(run_id, key)",
        "client.get_model_version_by_alias(name, key)",
        "client.get_dataset(key)",
    ],
)
def test_a_read_without_a_batched_form_over_items_is_not_flagged(call: str) -> None:
    source = f"""
    for key in keys:
        points = {call}
    """
    assert findings(source, "MLF201") == []


@pytest.mark.parametrize(
    "body",
    [
        "last = client.get_metric_history(run_id, key)[-1].value",
        "history = client.get_metric_history(run_id, key)\n"
        "        last = history[-1] if history else None",
    ],
)
def test_a_history_read_for_its_last_value_points_to_run_data(body: str) -> None:
    source = f"""
    for key in keys:
        {body}
    """
    ((line, _, message, help),) = findings(source, "MLF201")
    assert line == 3
    assert message.endswith("reads a whole history for its last value")
    assert "MLflow has no batched history read" in help and "`run.data.metrics`" in help


def test_a_history_used_whole_is_not_flagged() -> None:
    source = """
    for key in keys:
        history = client.get_metric_history(run_id, key)
        print(history[-1], len(history))
    """
    assert findings(source, "MLF201") == []


def test_a_loop_invariant_read_is_hoisted_to_the_loop_it_repeats_in() -> None:
    source = """
    for run_id in run_ids:
        for step in range(10):
            run = client.get_run(run_id)
    for epoch in range(10):
        for step in range(10):
            experiment = client.get_experiment_by_name("train")
    """
    inner, both = findings(source, "MLF201")
    assert (
        inner[2] == "`MlflowClient.get_run` in a loop repeats the same request on every iteration"
    )
    assert inner[3].endswith("call it once before the `step` loop and reuse the result")
    assert "in 2 nested loops" in both[2] or "2 loops deep" in both[2]
    assert both[3].endswith("call it once before the `epoch` loop and reuse the result")


def test_getters_that_send_nothing_are_not_reads() -> None:
    source = """
    for version in versions:
        client.get_model_version_stages(name, version)
    """
    assert findings(source, "MLF201") == []


# --- one problem, one finding -------------------------------------------------------------------
CLIENT_AND_READ = """
def status(run_id):
    helper_client = MlflowClient()
    return helper_client.get_run(run_id).info.status

for run_id in run_ids:
    status(run_id)
"""


def test_a_helper_that_builds_a_client_and_reads_is_one_finding() -> None:
    ((line, code, message, help),) = findings(CLIENT_AND_READ, "MLF201", "MLF202")
    assert (line, code) == (7, "MLF201")
    assert message.startswith("`status -> MlflowClient.get_run` in a loop sends one")
    assert help.endswith(
        "`status` also builds an `MlflowClient()` on every call: create one before the loop "
        "and pass it in"
    )


def test_the_client_finding_stays_when_the_read_rule_is_off() -> None:
    ((line, code, _, help),) = findings(CLIENT_AND_READ, "MLF202")
    assert (line, code, help) == (
        7,
        "MLF202",
        "Create the client once before the loop and pass it in",
    )


def test_the_client_finding_stays_when_the_read_is_not_reported() -> None:
    paced = CLIENT_AND_READ.replace("    status(run_id)", "    status(run_id)\n    time.sleep(1)")
    assert findings(paced, "MLF201", "MLF202") == []  # polling: neither
    history = CLIENT_AND_READ.replace(
        "get_run(run_id).info.status", "get_metric_history(run_id, 'loss')"
    )
    assert [code for _, code, *_ in findings(history, "MLF201", "MLF202")] == ["MLF202"]


def test_a_client_reported_inside_a_helper_is_not_reported_again_at_its_callers() -> None:
    source = """
    def tag_all(run_ids):
        for run_id in run_ids:
            MlflowClient().set_tag(run_id, "k", "v")

    for group in groups:
        tag_all(group)
    """
    assert lines(source, "MLF202") == [4]


def test_clients_built_by_helpers_are_reported_only_with_the_option() -> None:
    source = """
    def archive(run_id):
        MlflowClient().set_terminated(run_id)

    for run_id in run_ids:
        archive(run_id)
    """
    assert lines(source, "MLF202") == [6]
    settings = build_settings(None, select=["MLF202"])
    text = HEAD + textwrap.dedent(source)
    assert engine.analyze(text, "t.py", settings.rules_for("t.py"), settings) == []


# --- the mlflow package's own public functions --------------------------------------------------
OWN_SOURCE = """\
from mlflow.tracking.client import MlflowClient


def set_experiment_tag(key, value):
    experiment = MlflowClient().get_experiment_by_name(_name())
    MlflowClient().set_experiment_tag(experiment.experiment_id, key, value)


def get_experiment_by_name(name):
    return MlflowClient().get_experiment_by_name(name)


def set_experiment_tags(tags):
    for key, value in tags.items():
        set_experiment_tag(key, value)


def search(runs):
    return [get_experiment_by_name(run.data.tags["experiment"]) for run in runs]
"""


def test_inside_mlflow_public_functions_are_treated_as_the_api() -> None:
    def found(path: str) -> list[tuple[int, str]]:
        settings = build_settings(None, select=["MLF201", "MLF202"])
        return [
            (v.line, v.code)
            for v in engine.analyze(OWN_SOURCE, path, settings.rules_for(path), settings)
        ]

    # in mlflow itself: a write API called in a loop is not a read; a read API still is (and
    # its help does not ask to pass it a client: its callers cannot)
    assert found("src/mlflow/tracking/fluent.py") == [(19, "MLF201")]
    settings = build_settings(None, select=["MLF201"])
    path = "src/mlflow/tracking/fluent.py"
    (read,) = engine.analyze(OWN_SOURCE, path, settings.rules_for(path), settings)
    assert "also builds" not in read.help
    # the same code in a user's project: both chains are the user's own helpers
    assert found("project/tracking/fluent.py") == [(15, "MLF201"), (19, "MLF201")]


# --- MLF901 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "inner",
    [
        "for start in range(0, len(points), 1000):\n"
        "            client.log_batch(run_id, metrics=points[start : start + 1000])",
        "for part in chunked(points, 1000):\n            client.log_batch(run_id, metrics=part)",
        "for part in itertools.batched(points, 1000):\n"
        "            client.log_batch(run_id, metrics=list(part))",
    ],
    ids=["range-slice", "chunked", "batched"],
)
def test_mlf901_an_inner_loop_over_chunks_is_the_batching(inner: str) -> None:
    source = f"""
    for fold in folds:
        points = fold.metrics
        {inner}
    """
    assert lines(source, "MLF901") == []


def test_mlf901_chunks_assigned_before_the_loop() -> None:
    source = """
    from itertools import zip_longest
    for i, params in enumerate(grid):
        param_batches = _chunk_dict(params, chunk_size=100)
        for batch, metrics in zip_longest(param_batches, [scores[i]], fillvalue={}):
            client.log_batch(run_id, params=batch, metrics=metrics)
    """
    assert lines(source, "MLF901") == []
    plain = source.replace("_chunk_dict(params, chunk_size=100)", "list(params)")
    assert lines(plain, "MLF901") == [6]


def test_mlf901_a_range_with_a_step_that_does_not_slice_is_not_chunks() -> None:
    source = """
    for epoch in range(10):
        for step in range(0, 1000, 10):
            mlflow.log_metrics({"loss": 1.0}, step=step)
    """
    assert lines(source, "MLF901") == [4]


def test_mlf901_a_run_created_per_iteration_leaves_one_loop() -> None:
    source = """
    for seed in seeds:
        run = client.create_run(experiment_id)
        for epoch in range(10):
            client.log_batch(run.info.run_id, metrics=[metric(epoch)])
        client.set_terminated(run.info.run_id)
    """
    assert lines(source, "MLF901") == []
    assert lines(source.replace("run = client.create_run", "x = make_run"), "MLF901") == [5]


def test_mlf901_an_inner_loop_over_a_few_named_splits_is_per_split() -> None:
    source = """
    for epoch in range(10):
        for split in ("train", "val"):
            mlflow.log_metrics({f"{split}_loss": 1.0}, step=epoch)
    """
    assert lines(source, "MLF901") == []
    assert lines(source.replace('("train", "val")', "splits"), "MLF901") == [4]


def test_mlf901_message_and_help() -> None:
    source = """
    for epoch in range(10):
        for step in range(100):
            mlflow.log_metrics({"loss": 1.0}, step=step)
    """
    ((_, _, message, help),) = findings(source, "MLF901")
    assert message.startswith("`mlflow.log_metrics` 2 loops deep (epoch > step)")
    assert message.endswith(" sends one request per inner iteration")
    assert "`MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS`" in help and help.startswith("Log every N")


NESTED_HELPERS = """
def read_version(version):
    version_client = MlflowClient()
    return version_client.get_logged_model(version.model_id)

def versions_of(model):
    return [read_version(version) for version in model.versions]

for model in models:
    versions_of(model)
"""


@pytest.mark.parametrize("code", ["MLF201", "MLF202"])
def test_a_loop_inside_a_helper_is_reported_there_not_again_at_its_callers(code: str) -> None:
    """`for model in models: versions_of(model)` only echoes the loop inside `versions_of`."""
    assert [(line, found) for line, found, *_ in findings(NESTED_HELPERS, code)] == [(7, code)]


@pytest.mark.parametrize(
    ("lookup", "store"),
    [
        (
            """
            if experiment_id not in cache:
                cache[experiment_id] = client.get_experiment(experiment_id).tags
            """,
            "cache[experiment_id] = ",
        ),
        (
            """
            if experiment_id in self.cache:
                tags = self.cache[experiment_id]
            else:
                tags = client.get_experiment(experiment_id).tags
                self.cache[experiment_id] = tags
            """,
            "self.cache[experiment_id] = ",
        ),
    ],
)
def test_a_read_on_a_cache_miss_that_fills_the_cache_is_not_flagged(
    lookup: str, store: str
) -> None:
    body = textwrap.indent(textwrap.dedent(lookup).strip(), "    ")
    source = f"for experiment_id in experiment_ids:\n{body}\n"
    assert findings(source, "MLF201") == []
    assert len(findings(source.replace(store, "found = "), "MLF201")) == 1  # no cache filled


def test_a_loop_that_changes_what_it_reads_may_read_it_again() -> None:
    source = """
    def purge():
        while client.search_registered_models():
            for model in client.search_registered_models():
                client.delete_registered_model(model.name)
    """
    assert findings(source, "MLF201") == []
    logging_only = source.replace("client.delete_registered_model(model.name)", "print(model)")
    assert len(findings(logging_only, "MLF201")) == 2


def test_a_helper_read_depends_only_on_the_arguments_it_reads() -> None:
    source = """
    class Tables:
        def __init__(self):
            self.client = MlflowClient()

        def add_table(self, run_id, rows, name):
            logged = self.client.get_run(run_id).data.tags.get("tables", "")
            self.client.set_tag(run_id, "tables", logged + name)

        def add_all(self, run_id, tables):
            for name, rows in tables.items():
                self.add_table(run_id, list(rows), name)
    """
    head = HEAD
    # a read-modify-write of the run the loop also writes to: reading again is the point
    assert findings(source, "MLF201", head=head) == []
    # without the write, the read repeats: the varying arguments are not the ones it reads
    read_only = source.replace('self.client.set_tag(run_id, "tables", logged + name)', "pass")
    ((_, _, message, _),) = findings(read_only, "MLF201", head=head)
    assert message.endswith("repeats the same request on every iteration"), message
    by_run = read_only.replace("self.add_table(run_id,", "self.add_table(name,")
    ((_, _, message, _),) = findings(by_run, "MLF201", head=head)
    assert message.endswith("sends one tracking request per iteration (N+1)")


@pytest.mark.parametrize(
    "path", ["tests/test_tracking.py", "test_runs.py", "pkg/runs_test.py", "conftest.py"]
)
def test_reads_in_test_code_are_not_reported(path: str) -> None:
    source = "import mlflow\nfor run_id in run_ids:\n    mlflow.get_run(run_id)\n"
    settings = build_settings(None, select=["MLF201"])
    assert engine.analyze(source, path, settings.rules_for(path), settings) == []
    assert engine.analyze(source, "pkg/runs.py", settings.rules_for("x.py"), settings)


# --- a read beside heavy work in the same iteration -----------------------------------------
@pytest.mark.parametrize(
    "work",
    [
        "mlflow.artifacts.download_artifacts(run.info.artifact_uri, dst_path=dest)",
        "client.download_artifacts(run.info.run_id, 'model', dest)",
        "mlflow.pyfunc.load_model(f'runs:/{run.info.run_id}/model')",
        "client.create_run(run.info.experiment_id)",
        "mlflow.genai.evaluate(data=run.data, scorers=[])",
        # not MLflow's, named for moving data or training
        "s3.download_file(bucket, run.info.run_id, dest)",
        "import_model_version(client, run, dest)",
        "self.trainer.fit(run.data.params)",
        "subprocess.run(['train', run.info.run_id], check=True)",
    ],
)
def test_a_read_beside_a_transfer_or_an_evaluation_is_not_flagged(work: str) -> None:
    source = f"""\
    def export(run_ids, dest):
        for run_id in run_ids:
            run = client.get_run(run_id)
            {work}
    """
    assert lines(source, "MLF201") == []
    assert lines(source.replace(work, "print(run.data.metrics)"), "MLF201") == [3]


def test_a_bulk_listing_per_item_is_not_flagged_but_a_filtered_search_is() -> None:
    # an export listing everything under each experiment, in big pages: the payload costs
    source = """\
    def export(experiments):
        for exp in experiments:
            runs = client.search_runs([exp.experiment_id], max_results=10000)
            print(len(runs))
    """
    assert lines(source, "MLF201") == []
    # a filter keeps each result small: the request count is the cost again
    filtered = source.replace("max_results", "filter_string=\"status = 'RUNNING'\", max_results")
    assert lines(filtered, "MLF201") == [3]
    assert lines(source.replace("10000", "10"), "MLF201") == [3]


@pytest.mark.parametrize(
    "lookup", ["client.get_experiment_by_name(name)", "mlflow.set_experiment(name)"]
)
def test_experiments_a_caller_names_are_looked_up_one_by_one(lookup: str) -> None:
    # the names a function is handed: a handful the caller picked, while the only batched
    # form lists every experiment of the workspace
    given = f"""\
    def compare(experiment_names):
        found = [{lookup} for name in experiment_names]
        return client.search_runs([e.experiment_id for e in found if e])

    class Source:
        def load(self):
            for name in self.experiment_names:
                print({lookup})
    """
    assert lines(given, "MLF201") == []
    # names read from records (a copy tool walking a listing) are as many as the listing
    listed = f"""\
    def copy_all(source):
        for exp in source.search_experiments():
            name = exp.name
            print({lookup})
    """
    assert lines(listed, "MLF201") == [4]
    # so are names read from the records a caller hands over
    records = given.replace("for name in experiment_names", "for run in experiment_names")
    records = records.replace("(name)", '(run.data.tags["experiment"])')
    assert lines(records, "MLF201") == [2, 8]
    # and a lookup by id still has its batched form
    by_id = "def show(ids):\n    for i in ids:\n        print(client.get_experiment(i))\n"
    assert lines(by_id, "MLF201") == [3]


def test_a_vague_name_alone_is_not_heavy_work() -> None:
    source = """\
    def compare(run_ids):
        for run_id in run_ids:
            params = client.get_run(run_id).data.params.copy()
            print(params)
    """
    assert lines(source, "MLF201") == [3]


def test_a_continue_decides_only_before_the_heavy_work() -> None:
    # every iteration downloads before it may skip the rest: the read is a small share
    after = """\
    def fetch(entries, dest):
        for entry in entries:
            version = client.get_model_version(entry.name, entry.version)
            path = mlflow.artifacts.download_artifacts(version.source, dst_path=dest)
            if verified(path):
                continue
            install(path)
    """
    assert lines(after, "MLF201") == []
    # a sync tool skipping what exists before the copy: its iterations may be reads alone
    before = """\
    def sync(run_ids, dest):
        for run_id in run_ids:
            if client.get_run(run_id).data.tags.get("synced"):
                continue
            mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=dest)
    """
    assert lines(before, "MLF201") == [3]


def test_a_continue_before_the_read_skips_the_read_too() -> None:
    # filtered items make neither the read nor the export: every read has its export beside it
    source = """\
    def export(run_ids, wanted, dest):
        for run_id in run_ids:
            if wanted and run_id not in wanted:
                continue
            exporter.export_run(run_id, dest)
            run = client.get_run(run_id)
            print(run.info.artifact_uri)
    """
    assert lines(source, "MLF201") == []
    assert lines(source.replace("exporter.export_run", "print"), "MLF201") == [6]


def test_work_on_one_iteration_at_most_is_not_work_beside_each_read() -> None:
    # the best run's model is downloaded once; every other iteration is the read alone
    source = """\
    def report(run_ids, best):
        for run_id in run_ids:
            run = client.get_run(run_id)
            if run_id == best:
                mlflow.artifacts.download_artifacts(run_id=run_id, dst_path="best")
            print(run.data.metrics)
    """
    assert lines(source, "MLF201") == [3]
    assert lines(source.replace("if run_id == best:", "if run.data.metrics:"), "MLF201") == []


def test_heavy_work_deeper_in_the_helpers_counts_too() -> None:
    # each iteration loads a registered model (a download) two helpers down, beside the read
    source = """\
    class Promoter:
        def production_metrics(self, name):
            model = mlflow.pyfunc.load_model(f"models:/{name}/Production")
            return mlflow.get_run(model.metadata.run_id).data.metrics

        def improved(self, name, loss):
            return loss < self.production_metrics(name)["loss"]

        def promote_all(self, names, loss):
            for name in names:
                if self.improved(name, loss):
                    print(name)
    """
    assert lines(source, "MLF201") == []
    assert lines(source.replace("mlflow.pyfunc.load_model", "resolve"), "MLF201") == [11]


def test_a_helper_named_for_transfers_is_not_heavy_work_when_it_is_the_read() -> None:
    # the call that leads to the read says nothing, by its name, about the work beside it
    source = """\
    def sync_run(run_id):
        return client.get_run(run_id)


    def sync_all(run_ids):
        for run_id in run_ids:
            print(sync_run(run_id).info.status)
    """
    assert lines(source, "MLF201") == [7]


def test_heavy_work_in_the_helper_that_reads_counts_too() -> None:
    source = """\
    def score(case):
        mlflow.set_experiment(experiment_id=case.experiment_id)
        return mlflow.genai.evaluate(data=case.traces, scorers=case.scorers)


    def score_all(cases):
        for case in cases:
            score(case)
    """
    assert lines(source, "MLF201") == []
    assert lines(source.replace("mlflow.genai.evaluate", "len"), "MLF201") == [8]


def test_a_read_of_what_the_same_iteration_created_is_not_flagged() -> None:
    """Nothing can be fetched before the loop for an experiment or run the loop creates."""
    source = """\
    def launch(plans):
        for plan in plans:
            start(plan)


    def start(plan):
        experiment_id = mlflow.create_experiment(plan.name)
        mlflow.set_experiment(experiment_id=experiment_id)
        print(experiment_id)


    def register(client, names):
        for name in names:
            run = client.create_run(experiment_id="0", run_name=name)
            print(client.get_run(run.info.run_id).info.status)
    """
    assert lines(source, "MLF201") == []
    # read by an id the loop was handed: still one request per item
    handed = source.replace("experiment_id = mlflow.create_experiment(plan.name)", "")
    handed = handed.replace("experiment_id=experiment_id", "experiment_id=plan.experiment_id")
    assert lines(handed, "MLF201") == [3]


def test_one_loop_reading_the_same_way_in_several_places_is_one_finding() -> None:
    """Each branch reads the run again: one fetch before the loop fixes them all."""
    source = """
    def table(run_ids, index):
        rows = {}
        for run_id in run_ids:
            if index == "name":
                name = mlflow.get_run(run_id).data.tags["mlflow.runName"]
            else:
                name = mlflow.get_run(run_id).info.run_id
            rows[name] = mlflow.get_run(run_id).data.metrics
        return rows
    """
    assert lines(source, "MLF201") == [6]
    # another loop with the same read is another problem
    twice = source + source.replace("def table(", "def other_table(")
    assert lines(twice, "MLF201") == [6, 16]


@pytest.mark.parametrize(
    "loop",
    [
        "runs = client.search_runs([experiment_id])\n    for run in runs:",
        "for i, run in enumerate(client.search_runs([experiment_id])):",
        "frame = mlflow.search_runs([experiment_id])\n    for _, run in frame.iterrows():",
    ],
)
def test_a_run_refetched_from_search_results_gets_read_it_from_the_item(loop: str) -> None:
    source = (
        "def scores(client: MlflowClient, experiment_id, run_ids):\n"
        f"    {loop}\n"
        "        print(client.get_run(run.run_id).data.metrics)\n"
    )
    [(_, _, _, advice)] = findings(source, "MLF201")
    assert "read them from the loop's item" in advice
    # a loop over ids from elsewhere: the batched read is the remedy
    [(_, _, _, advice)] = findings(source.replace(loop, "for run in run_ids:"), "MLF201")
    assert "read them from the loop's item" not in advice and "IN (" in advice


def test_a_wait_loop_that_returns_from_a_branch_is_a_poll() -> None:
    """The result decides when the loop ends even when only some branches return: the
    advice is to wait between reads, never to read once before a loop that waits for it."""
    source = """
    def wait_for_child(client: MlflowClient, output):
        while True:
            run = client.search_runs(["1"], filter_string="tags.role = 'child'")
            if run:
                if output == "json":
                    return run[0].data.params
                elif output == "bash":
                    return str(run[0].data.params)
    """
    [(line, _, message, advice)] = findings(source, "MLF201")
    assert line == 4 and "polls in a loop without waiting" in message
    assert "Wait between reads" in advice
