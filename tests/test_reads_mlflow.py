"""What MLF201, MLF202 and MLF901 tell users about MLflow, checked against real MLflow: the
batched reads their advice names return exactly the items asked for, the forms it warns
about are rejected, and the request counts their messages state are what a real `mlflow
server` serves."""

from __future__ import annotations

import re
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow_harness import Backend, mlflow_server, run_script

from mlflow_lint import mlflow_api as api

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with mlflow_server(tmp_path_factory.mktemp("reads-server")) as backend:
        yield backend


@pytest.fixture
def client(tmp_path: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")


def _filter(form: str) -> str:
    """The filter string in one of mlflow_api.READ_BATCH_FORMS."""
    match = re.search(r'filter_string="([^"]+)"', form)
    assert match, form
    return match.group(1)


def _quoted(values: list[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def test_every_batched_read_the_advice_names_returns_the_items_asked_for(
    client: MlflowClient,
) -> None:
    """Each filter of READ_BATCH_FORMS, with the example values replaced by real ones,
    selects exactly those items (and not a third one that exists)."""
    forms = api.READ_BATCH_FORMS
    experiments = [client.create_experiment(f"e{i}") for i in range(3)]
    runs = [client.create_run(experiments[0]).info.run_id for _ in range(3)]
    for name in ("a", "b", "c"):
        client.create_registered_model(name)
        client.create_model_version(name, "runs:/x/model")
    models = [client.create_logged_model(experiments[0], name=f"m{i}").model_id for i in range(3)]
    mlflow.set_tracking_uri(client.tracking_uri)
    try:
        mlflow.set_experiment(experiment_id=experiments[1])
        traces = []
        for i in range(3):
            with mlflow.start_span(name=f"span{i}") as span:
                pass
            traces.append(span.trace_id)
        for read in ("get_run", "get_parent_run"):
            found = mlflow.search_runs(
                filter_string=_filter(forms[read]).replace("'id1', 'id2'", _quoted(runs[:2])),
                search_all_experiments=True,
                output_format="list",
            )
            assert sorted(run.info.run_id for run in found) == sorted(runs[:2])
        found_experiments = mlflow.search_experiments(
            filter_string=_filter(forms["get_experiment"]).replace(
                "'1', '2'", _quoted(experiments[:2])
            )
        )
        assert sorted(e.experiment_id for e in found_experiments) == sorted(experiments[:2])
        assert forms["get_experiment_by_name"] == forms["set_experiment"]
        assert forms["set_experiment"] == "mlflow.search_experiments()"
    finally:
        mlflow.set_tracking_uri(None)
    registered = client.search_registered_models(
        filter_string=_filter(forms["get_registered_model"])
    )
    assert sorted(model.name for model in registered) == ["a", "b"]
    for read in ("get_model_version", "get_latest_versions"):
        versions = client.search_model_versions(filter_string=_filter(forms[read]))
        assert sorted(version.name for version in versions) == ["a", "b"]
    logged = client.search_logged_models(
        [experiments[0]],
        filter_string=_filter(forms["get_logged_model"]).replace(
            "'m-1', 'm-2'", _quoted(models[:2])
        ),
    )
    assert sorted(model.model_id for model in logged) == sorted(models[:2])
    found_traces = client.search_traces(
        locations=[experiments[1]],
        filter_string=_filter(forms["get_trace"]).replace("'tr-1', 'tr-2'", _quoted(traces[:2])),
    )
    assert sorted(trace.info.trace_id for trace in found_traces) == sorted(traces[:2])


@pytest.mark.parametrize(
    "filter_string",
    ["name IN ('a', 'b')", "name = 'a' OR name = 'b'"],
    ids=["in", "or"],
)
def test_search_experiments_cannot_select_several_names(
    client: MlflowClient, filter_string: str
) -> None:
    """Why MLF201 advises one `search_experiments()` call and a pick by name."""
    client.create_experiment("a")
    client.create_experiment("b")
    with pytest.raises(MlflowException):
        client.search_experiments(filter_string=filter_string)


def test_search_runs_filters_a_list_only_on_run_id(client: MlflowClient) -> None:
    """MLF201's `search_runs` advice: `IN` works for `attributes.run_id` only."""
    experiment = client.create_experiment("e")
    run = client.create_run(experiment, run_name="r", tags={"team": "a"})
    found = client.search_runs([experiment], f"attributes.run_id IN ('{run.info.run_id}')")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    for rejected in ("attributes.run_name IN ('r')", "tags.team IN ('a')"):
        with pytest.raises(MlflowException):
            client.search_runs([experiment], rejected)


def test_the_latest_metric_value_is_in_run_data(client: MlflowClient) -> None:
    """MLF201's `get_metric_history(...)[-1]` advice: `run.data.metrics` holds that value."""
    experiment = client.create_experiment("e")
    run_id = client.create_run(experiment).info.run_id
    for step, value in enumerate([0.9, 0.5, 0.2]):
        client.log_metric(run_id, "loss", value, step=step)
    last = client.get_metric_history(run_id, "loss")[-1]
    assert client.get_run(run_id).data.metrics["loss"] == last.value == 0.2


def test_search_results_already_hold_what_get_run_returns(client: MlflowClient) -> None:
    """MLF201's advice for `get_run` over the runs a `search_runs` returned: each result holds
    the run's info, latest metrics, params and tags, and `mlflow.search_runs`'s DataFrame has
    them as `metrics.*`, `params.*`, `tags.*` columns beside `artifact_uri`."""
    experiment = client.create_experiment("searched")
    for index in range(3):
        run_id = client.create_run(experiment).info.run_id
        client.log_metric(run_id, "rmse", 1.0 / (index + 1), step=index)
        client.log_param(run_id, "depth", str(index))
        client.set_tag(run_id, "stage", "eval")
    for found in client.search_runs([experiment]):
        fetched = client.get_run(found.info.run_id)
        assert found.info.artifact_uri == fetched.info.artifact_uri
        assert found.info.status == fetched.info.status
        assert found.data.metrics == fetched.data.metrics
        assert found.data.params == fetched.data.params
        assert found.data.tags == fetched.data.tags
    mlflow.set_tracking_uri(client.tracking_uri)
    try:
        frame = mlflow.search_runs([experiment])
    finally:
        mlflow.set_tracking_uri(None)
    assert {"run_id", "artifact_uri", "metrics.rmse", "params.depth", "tags.stage"} <= set(
        frame.columns
    )
    for _, row in frame.iterrows():
        fetched = client.get_run(row.run_id)
        assert row["artifact_uri"] == fetched.info.artifact_uri
        assert row["metrics.rmse"] == fetched.data.metrics["rmse"]
        assert row["params.depth"] == fetched.data.params["depth"]


def test_client_local_getters_send_nothing(client: MlflowClient) -> None:
    """`get_model_version_stages` and `get_workspace_store_uri` are not reads: MLF201 skips
    them. Against an unreachable server they still answer."""
    offline = MlflowClient(tracking_uri="http://127.0.0.1:9", registry_uri="http://127.0.0.1:9")
    arguments = {"get_model_version_stages": ("model", "1"), "get_workspace_store_uri": ()}
    assert set(arguments) == api.CLIENT_LOCAL_GETTERS
    for name, args in arguments.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # stages are deprecated
            getattr(offline, name)(*args)


def _requests(server: Backend, tmp_path: Path, body: str) -> dict[str, int]:
    """Requests per endpoint that the real server served while `body` ran."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    name = server.new_experiment_name("reads")
    run = run_script(script, server.tracking_uri, name, cwd, access_log=server.access_log)
    assert run.returncode == 0, run.failure()
    return run.requests.by_endpoint


def test_each_read_in_a_loop_is_one_request(server: Backend, tmp_path: Path) -> None:
    """MLF201: "sends one tracking request per iteration"; one `search_runs` replaces them."""
    counts = _requests(
        server,
        tmp_path,
        """
        import mlflow
        client = mlflow.MlflowClient()
        run_ids = []
        for i in range(10):
            with mlflow.start_run() as run:
                run_ids.append(run.info.run_id)
        print("MARK", flush=True)
        for run_id in run_ids:
            client.get_run(run_id)
        for _ in range(10):
            client.get_experiment_by_name("Default")
        quoted = ", ".join(f"'{r}'" for r in run_ids)
        found = mlflow.search_runs(
            filter_string=f"attributes.run_id IN ({quoted})", search_all_experiments=True
        )
        assert len(found) == 10
        """,
    )
    gets = [key for key in counts if key.endswith("/runs/get")]
    # 10 reads, plus one per `end_run` (it prints the run's URL) of the 10 runs made first
    assert sum(counts[key] for key in gets) == 20, counts
    by_name = [key for key in counts if key.endswith("/experiments/get-by-name")]
    assert sum(counts[key] for key in by_name) >= 10, counts
    searches = [key for key in counts if key.endswith("/runs/search")]
    assert sum(counts[key] for key in searches) == 1, counts


def test_building_clients_sends_no_request(server: Backend, tmp_path: Path) -> None:
    """MLF202's docs: construction sends no request by itself."""
    counts = _requests(
        server,
        tmp_path,
        """
        import mlflow
        clients = [mlflow.MlflowClient() for _ in range(20)]
        """,
    )
    assert sum(counts.values()) == 0, counts


ASYNC_LOOP = """
import os
os.environ.update({buffering})
import mlflow
mlflow.config.enable_async_logging()
with mlflow.start_run():
    for epoch in range(2):
        for step in range(10):
            mlflow.log_metrics({"loss": 1.0 / (step + 1), "lr": 0.01}, step=epoch * 10 + step)
"""


def test_async_logging_coalesces_requests_only_with_buffering(
    server: Backend, tmp_path: Path
) -> None:
    """MLF901's help: async logging alone still sends one request per call; with
    MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS set, MLflow coalesces them."""

    def batches(directory: str, buffering: dict[str, str]) -> int:
        folder = tmp_path / directory
        folder.mkdir()
        counts = _requests(server, folder, ASYNC_LOOP.replace("{buffering}", repr(buffering)))
        return sum(n for key, n in counts.items() if key.endswith("/runs/log-batch"))

    assert batches("plain", {}) == 20
    assert batches("buffered", {"MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS": "2"}) < 5
