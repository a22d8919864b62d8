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
