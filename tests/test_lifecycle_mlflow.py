"""The lifecycle rules' predictions, shown on real MLflow (local sqlite tracking URI): each
flagged example fails the way its rule says, and the fixed or clean example does not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import RULES_DIR

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402

from mlflow_lint import engine as mlflow_lint_engine  # noqa: E402
from mlflow_lint.config import build_settings  # noqa: E402


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty tracking database: creating the schema takes most of a run's time."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import mlflow; mlflow.MlflowClient('sqlite:///{path}').search_experiments()",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return path


@pytest.fixture
def run_example(tmp_path: Path, template_db: Path):  # type: ignore[no-untyped-def]
    def run(
        path: Path, tmp_path: Path = tmp_path, **env: str
    ) -> tuple[subprocess.CompletedProcess[str], MlflowClient, str]:
        return _run_example(path, tmp_path, template_db, **env)

    return run


def _run_example(
    path: Path, tmp_path: Path, template_db: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], MlflowClient, str]:
    workdir = tmp_path / path.stem
    workdir.mkdir()
    script = workdir / path.name
    shutil.copy(path, script)
    shutil.copy(template_db, workdir / "mlflow.db")
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "MLFLOW_TRACKING_URI": uri,
            "MLFLOW_EXPERIMENT_NAME": "lifecycle",
            **env,
        },
    )
    return result, MlflowClient(uri), "lifecycle"


def runs(client: MlflowClient, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id]) if found else []


def test_mlf301_duplicate_param_raises(tmp_path: Path, run_example) -> None:
    result, _, _ = run_example(RULES_DIR / "MLF301" / "flagged.py", tmp_path)
    assert result.returncode != 0
    assert "Changing param values is not allowed" in result.stderr
    clean, _, _ = run_example(RULES_DIR / "MLF301" / "clean.py", tmp_path)
    assert clean.returncode == 0, clean.stderr


def test_mlf302_exception_leaves_the_run_running_and_the_fix_marks_it_failed(
    tmp_path: Path, run_example
) -> None:
    # the flagged example's shape, with a failure in the middle; the process lives on (a
    # notebook, a service), so no exit handler ends the run
    source = (RULES_DIR / "MLF302" / "flagged.py").read_text()
    source = source.replace(
        '    mlflow.set_tag("run_id", run.info.run_id)\n',
        '    mlflow.set_tag("run_id", run.info.run_id)\n    raise RuntimeError("out of memory")\n',
    )
    source = source.replace(
        "train(3)\n",
        "try:\n    train(3)\nexcept RuntimeError:\n    pass\nprint(mlflow.last_active_run().info.status)\n",
    )
    variant = tmp_path / "flagged_failing.py"
    variant.write_text(source)
    fixed = tmp_path / "fixed_failing.py"
    fixed.write_text(source)
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "mlflow-lint"), "fix", "--select", "MLF302", str(fixed)],
        capture_output=True,
        text=True,
    )
    assert "with mlflow.start_run(" in fixed.read_text(), lint.stdout
    original, _client, _experiment = run_example(variant, tmp_path)
    assert original.returncode == 0, original.stderr
    assert original.stdout.strip().splitlines()[-1] == "RUNNING"
    after, _, _ = run_example(fixed, tmp_path)
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip().splitlines()[-1] == "FAILED"


def test_mlf303_nested_start_run_raises_and_nested_true_fixes_it(
    tmp_path: Path, run_example
) -> None:
    flagged, _, _ = run_example(RULES_DIR / "MLF303" / "flagged.py", tmp_path)
    assert flagged.returncode != 0
    assert "is already active" in flagged.stderr
    fixed, client, experiment = run_example(RULES_DIR / "MLF303" / "flagged.fixed.py", tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    found = runs(client, experiment)
    children = [r for r in found if "mlflow.parentRunId" in r.data.tags]
    assert len(found) == 3 and len(children) == 2


def test_mlf304_logging_after_the_block_creates_another_run(tmp_path: Path, run_example) -> None:
    flagged, client, experiment = run_example(RULES_DIR / "MLF304" / "flagged.py", tmp_path)
    assert flagged.returncode == 0, flagged.stderr
    found = runs(client, experiment)
    assert len(found) == 2
    named = [r for r in found if r.info.run_name == "mlf304-flagged"]
    assert named and "final_score" not in named[0].data.metrics
    clean, client, experiment = run_example(RULES_DIR / "MLF304" / "clean.py", tmp_path)
    assert clean.returncode == 0, clean.stderr
    outer = [r for r in runs(client, experiment) if r.info.run_name == "mlf304-clean"]
    assert outer and outer[0].data.metrics["final_score"] == 0.93


def test_mlf305_async_points_are_lost_without_ending_the_run(tmp_path: Path, run_example) -> None:
    buffered = {"MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS": "5"}
    _flagged, client, experiment = run_example(
        RULES_DIR / "MLF305" / "flagged.py", tmp_path, **buffered
    )
    [run] = runs(client, experiment)
    stored = len(client.get_metric_history(run.info.run_id, "loss"))
    assert stored < 100, f"expected lost points, {stored} of 100 stored"
    clean, client, experiment = run_example(RULES_DIR / "MLF305" / "clean.py", tmp_path, **buffered)
    assert clean.returncode == 0, clean.stderr
    [run] = runs(client, experiment)
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 100


def test_mlf306_fluent_logging_in_threads_creates_other_runs(tmp_path: Path, run_example) -> None:
    flagged, client, experiment = run_example(RULES_DIR / "MLF306" / "flagged.py", tmp_path)
    assert flagged.returncode == 0, flagged.stderr
    found = runs(client, experiment)
    parent = next(r for r in found if r.info.run_name == "mlf306-flagged")
    assert not any(k.startswith("shard_") for k in parent.data.metrics)
    assert len(found) > 1, "each worker thread started a run of its own"
    clean, client, experiment = run_example(RULES_DIR / "MLF306" / "clean.py", tmp_path)
    assert clean.returncode == 0, clean.stderr
    [parent] = runs(client, experiment)
    assert sorted(k for k in parent.data.metrics if k.startswith("shard_")) == [
        f"shard_{i}_accuracy" for i in range(4)
    ]


# --- MLF302's claims about how a run left open ends -----------------------------------------------
CRASHING = """\
import mlflow

{start}
mlflow.log_metric("loss", 0.5)
{ending}
"""


def _status(client: MlflowClient, experiment: str) -> str:
    [run] = runs(client, experiment)
    return run.info.status


@pytest.mark.parametrize(
    ("start", "ending", "status"),
    [
        # a bare start_run() and an uncaught exception: the exit handler ends it as FINISHED
        ("mlflow.start_run()", 'raise RuntimeError("out of memory")', "FINISHED"),
        # the process is killed: nothing ends it
        (
            "mlflow.start_run()",
            "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
            "RUNNING",
        ),
        # MLF302's advice: `with` marks it FAILED when the exception escapes
        ("with mlflow.start_run():", '    raise RuntimeError("out of memory")', "FAILED"),
        # ... and where the run outlives the function: end_run(status="FAILED") on error
        (
            "mlflow.start_run()",
            'try:\n    raise RuntimeError("oom")\nexcept RuntimeError:\n'
            '    mlflow.end_run(status="FAILED")',
            "FAILED",
        ),
    ],
    ids=["uncaught-exception", "killed", "with-block", "end_run-failed"],
)
def test_mlf302_how_a_run_ends(
    tmp_path: Path, run_example, start: str, ending: str, status: str
) -> None:
    if start.startswith("with"):
        source = CRASHING.format(start=start, ending=ending).replace(
            '\nmlflow.log_metric("loss", 0.5)', '\n    mlflow.log_metric("loss", 0.5)'
        )
    else:
        source = CRASHING.format(start=start, ending=ending)
    script = tmp_path / "job.py"
    script.write_text(source)
    result, client, experiment = run_example(script, tmp_path)
    assert (result.returncode == 0) == (status == "FAILED" and "try" in ending), result.stderr
    assert _status(client, experiment) == status


@pytest.mark.parametrize(
    ("start", "status"),
    [
        ("mlflow.start_run(run_id=RUN_ID)", "FINISHED"),
        ("with mlflow.start_run(run_id=RUN_ID):", "FAILED"),
    ],
)
def test_mlf302_a_resumed_run_is_left_as_it_was_found(
    tmp_path: Path, run_example, start: str, status: str
) -> None:
    """MLF302 leaves alone a script resuming a finished run that nothing there ends: the
    exit handler ends it FINISHED, as it found it, where a `with` marks the owner's run
    FAILED for a crash of this script alone."""
    body = 'mlflow.log_metric("eval_loss", 0.5)\nraise RuntimeError("evaluation crashed")\n'
    if start.startswith("with"):
        body = "".join(f"    {line}\n" for line in body.splitlines())
    source = (
        "import mlflow\n"
        "with mlflow.start_run() as owner:\n    mlflow.log_metric('loss', 0.1)\n"
        f"RUN_ID = owner.info.run_id\n{start}\n{body}"
    )
    script = tmp_path / "evaluate.py"
    script.write_text(source)
    result, client, experiment = run_example(script, tmp_path)
    assert result.returncode != 0 and "evaluation crashed" in result.stderr
    [run] = runs(client, experiment)
    assert run.info.status == status
    assert run.data.metrics == {"loss": 0.1, "eval_loss": 0.5}
    settings = build_settings(None)
    flagged = [
        v.code
        for v in mlflow_lint_engine.analyze(
            source, "evaluate.py", settings.rules_for("evaluate.py"), settings
        )
    ]
    assert "MLF302" not in flagged


NOTEBOOK_CELLS = [
    "import mlflow\nrun = mlflow.start_run()\nrun_id = run.info.run_id",
    'mlflow.log_metric("a", 1)\nraise RuntimeError("bad cell")',
    'mlflow.log_metric("b", 2)\nsame = mlflow.active_run().info.run_id == run_id',
]


def test_mlf302_notebook_claims_in_a_real_kernel(tmp_path: Path, template_db: Path) -> None:
    """What MLF302 says of a notebook that never ends its run: a cell that raises leaves the
    run active (later cells log into it) and RUNNING; restarting the kernel (Jupyter's
    restart: a shutdown request, then a normal exit) marks it FINISHED; a killed kernel
    leaves it RUNNING."""
    from jupyter_client.manager import KernelManager

    shutil.copy(template_db, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": "notebook"}
    manager = KernelManager()  # ipykernel's own "python3" kernel: this interpreter
    manager.start_kernel(env=env, cwd=str(tmp_path))
    kernel = manager.client()
    kernel.start_channels()

    def cell(code: str) -> dict:
        reply = kernel.execute_interactive(code, timeout=180, output_hook=lambda msg: None)
        return reply["content"]

    def value(name: str) -> str:
        reply = cell(f"open('value.txt', 'w').write(str({name}))")
        assert reply["status"] == "ok", reply
        return (tmp_path / "value.txt").read_text()

    try:
        kernel.wait_for_ready(timeout=180)
        assert cell(NOTEBOOK_CELLS[0])["status"] == "ok"
        run_id = value("run_id")
        assert cell(NOTEBOOK_CELLS[1])["status"] == "error"
        assert client.get_run(run_id).info.status == "RUNNING"
        assert cell(NOTEBOOK_CELLS[2])["status"] == "ok"
        assert value("same") == "True"
        assert client.get_run(run_id).data.metrics == {"a": 1.0, "b": 2.0}
        manager.restart_kernel(now=False)
        assert _eventually(lambda: client.get_run(run_id).info.status == "FINISHED")
        kernel.wait_for_ready(timeout=180)
        assert cell(NOTEBOOK_CELLS[0])["status"] == "ok"
        killed = value("run_id")
        manager.restart_kernel(now=True)  # killed, not asked to exit
        kernel.wait_for_ready(timeout=180)
        assert client.get_run(killed).info.status == "RUNNING"
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=True)


def _eventually(check, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


# --- MLF305: what drains the async queue ---------------------------------------------------------
ASYNC_SCRIPT = """\
import mlflow
from mlflow import MlflowClient

mlflow.config.enable_async_logging()
run = mlflow.start_run()
for step in range(100):
    mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)
{drain}
"""


@pytest.mark.parametrize(
    "drain",
    [
        "MlflowClient().set_terminated(run.info.run_id)",
        "mlflow.flush_async_logging()",
        "from mlflow.tracking.fluent import _shut_down_async_logging\n_shut_down_async_logging()",
    ],
    ids=["set_terminated", "flush_async_logging", "_shut_down_async_logging"],
)
def test_mlf305_set_terminated_and_flushes_store_every_point(
    tmp_path: Path, run_example, drain: str
) -> None:
    script = tmp_path / "job.py"
    script.write_text(ASYNC_SCRIPT.format(drain=drain))
    result, client, experiment = run_example(
        script, tmp_path, MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS="5"
    )
    assert result.returncode == 0, result.stderr
    [run] = runs(client, experiment)
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 100


def test_mlf305_a_patch_with_manage_run_ends_its_run(tmp_path: Path, run_example) -> None:
    """An autologging patch with `manage_run=True` (MLflow's safe_patch) ends the run it
    starts when the patched call returns, which drains the queue."""
    script = tmp_path / "job.py"
    script.write_text(
        """\
import mlflow
from mlflow.utils.autologging_utils import autologging_integration, safe_patch

class Model:
    def fit(self):
        return "fitted"

@autologging_integration("toy")
def autolog(disable=False, silent=False):
    def patched_fit(original, self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        for step in range(100):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)
        return result

    safe_patch("toy", Model, "fit", patched_fit, manage_run=True)

autolog()
Model().fit()
assert mlflow.active_run() is None
"""
    )
    result, client, experiment = run_example(
        script, tmp_path, MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS="5"
    )
    assert result.returncode == 0, result.stderr
    [run] = runs(client, experiment)
    assert run.info.status == "FINISHED"
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 100


# --- MLF303, MLF401: the rest of what the messages say ---------------------------------------------
def test_mlf303_a_loop_fails_on_its_second_iteration_with_a_plain_exception(
    tmp_path: Path, run_example
) -> None:
    script = tmp_path / "job.py"
    script.write_text(
        """\
import mlflow
from mlflow.exceptions import MlflowException

for seed in range(3):
    try:
        mlflow.start_run(run_name=f"seed-{seed}")
    except MlflowException:
        print("caught as MlflowException")
        raise
    mlflow.log_param("seed", seed)
"""
    )
    result, client, experiment = run_example(script, tmp_path)
    assert result.returncode != 0
    assert "is already active" in result.stderr
    assert "caught as MlflowException" not in result.stdout
    assert [r.data.params for r in runs(client, experiment)] == [{"seed": "0"}]


def test_mlf401_default_uri_and_worker_processes_racing_on_a_new_database(
    tmp_path: Path,
) -> None:
    """The default tracking URI is sqlite:///mlflow.db (MLflow 3.7+), and worker processes
    that log to a new sqlite database at once race on creating its tables."""
    default = subprocess.run(
        [sys.executable, "-c", "import mlflow; print(mlflow.get_tracking_uri())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
    )
    # (resolved against the working directory)
    assert default.stdout.strip() == f"sqlite:///{tmp_path / 'mlflow.db'}", default.stderr
    (tmp_path / "workers.py").write_text(
        """\
import multiprocessing, sys

def work(uri):
    import mlflow
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run():
        for step in range(10):
            mlflow.log_metric("m", step, step=step)

if __name__ == "__main__":
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=work, args=(sys.argv[1],)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(sum(worker.exitcode != 0 for worker in workers))
"""
    )
    messages = ("duplicate column name", "already exists", "database is locked")
    for attempt in range(3):  # a race: it showed on every try when measured, allow two misses
        result = subprocess.run(
            [sys.executable, "workers.py", f"sqlite:///{tmp_path / f'fresh{attempt}.db'}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if int(result.stdout.strip() or 0) > 0:
            assert any(m in result.stderr for m in messages), result.stderr[-2000:]
            return
    pytest.fail("no worker failed in 3 tries")
