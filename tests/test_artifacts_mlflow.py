"""What MLF107 and MLF109 say about uploads, checked against real MLflow.

Against a real `mlflow server` with proxied artifacts (sqlite store, started here; requests
counted from its access log, see mlflow_harness.py) and a plain `sqlite:///` tracking URI with
its local artifact store:
- `log_artifact` uploads one file per call, one request each; `log_artifacts(folder)` stores
  the same files and still takes one request per file on the server, but one copy locally;
  one archive is one request; a directory given to `log_artifact` is uploaded as a tree;
- the examples' uploads, and the remedies their advice names, store the same artifacts;
- `log_text` / `log_dict` / `log_figure` / `log_image` upload one file per call, and
  `log_table` on one file downloads it and uploads it again, whole, on every call.
In-process, on MLflow's own artifact repository classes (their cloud SDK clients stubbed, as
no cloud is reachable here): Databricks and the `CloudArtifactRepository` stores upload a
folder in parallel (the latter fetching write credentials in batches), while S3, GCS and
Azure Blob upload it file by file, one after the other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import RULES_DIR, lint
from mlflow_harness import Backend, Outcome, mlflow_server, snapshot_json, sqlite_backend

pytestmark = pytest.mark.server

PUT = "PUT /api/2.0/mlflow-artifacts/artifacts/<path>"
DOWNLOAD = "GET /api/2.0/mlflow-artifacts/artifacts/<path>"
LOCAL_COPY = "LocalArtifactRepository.log_artifact"
LOCAL_TREE = "LocalArtifactRepository.log_artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with mlflow_server(tmp_path_factory.mktemp("artifacts-server")) as backend:
        yield backend


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with sqlite_backend(tmp_path_factory.mktemp("artifacts-sqlite")) as backend:
        yield backend


def run(backend: Backend, directory: Path, name: str, source: str) -> Outcome:
    script = directory / name
    script.write_text(source)
    outcome = backend.run(script)
    assert outcome.run.returncode == 0, outcome.run.failure()
    return outcome


def only_run(outcome: Outcome) -> dict[str, Any]:
    [data] = outcome.snapshot.values()
    return dict(data)


def puts(outcome: Outcome) -> int:
    return outcome.run.requests.by_endpoint.get(PUT, 0)


WRITE_FILES = """
import os, shutil, tempfile
import mlflow

folder = tempfile.mkdtemp()
for i in range(6):
    with open(os.path.join(folder, f"part_{i}.txt"), "w") as out:
        out.write("x" * (i + 1))
"""

UPLOADS = {
    "loop": "for name in sorted(os.listdir(folder)):\n"
    "        mlflow.log_artifact(os.path.join(folder, name), artifact_path='parts')\n",
    "folder": "mlflow.log_artifacts(folder, artifact_path='parts')\n",
    "archive": "mlflow.log_artifact(shutil.make_archive("
    "os.path.join(tempfile.mkdtemp(), 'parts'), 'zip', folder))\n",
}


def upload_script(kind: str) -> str:
    return WRITE_FILES + f"with mlflow.start_run(run_name='{kind}'):\n    {UPLOADS[kind]}"


def test_the_loop_is_what_mlf107_reports() -> None:
    assert [c for _, _, c in lint(upload_script("loop"))] == ["MLF107"]
    assert [c for _, _, c in lint(upload_script("folder"))] == []
    assert [c for _, _, c in lint(upload_script("archive"))] == []


def test_one_request_per_file_on_an_mlflow_server(server: Backend, tmp_path: Path) -> None:
    """`log_artifact` per file: one PUT each. `log_artifacts(folder)`: the same files, and
    still one PUT each (HttpArtifactRepository walks the folder). One archive: one PUT."""
    loop = run(server, tmp_path, "loop.py", upload_script("loop"))
    folder = run(server, tmp_path, "folder.py", upload_script("folder"))
    archive = run(server, tmp_path, "archive.py", upload_script("archive"))
    stored = [(f"parts/part_{i}.txt", i + 1) for i in range(6)]
    assert only_run(loop)["artifacts"] == stored
    assert only_run(folder)["artifacts"] == stored
    assert puts(loop) == 6, loop.run.requests
    assert puts(folder) == 6, folder.run.requests
    assert puts(archive) == 1, archive.run.requests
    assert [path for path, _ in only_run(archive)["artifacts"]] == ["parts.zip"]


def test_a_local_artifact_store_copies_a_folder_at_once(sqlite: Backend, tmp_path: Path) -> None:
    """With a local store, `log_artifacts(folder)` is one copy where the loop made six."""
    loop = run(sqlite, tmp_path, "loop.py", upload_script("loop"))
    folder = run(sqlite, tmp_path, "folder.py", upload_script("folder"))
    assert only_run(loop)["artifacts"] == only_run(folder)["artifacts"]
    assert loop.run.requests.by_endpoint.get(LOCAL_COPY) == 6, loop.run.requests
    assert folder.run.requests.by_endpoint.get(LOCAL_TREE) == 1, folder.run.requests
    assert LOCAL_COPY not in folder.run.requests.by_endpoint


def test_a_directory_is_uploaded_as_a_tree(server: Backend, tmp_path: Path) -> None:
    source = """
import os, tempfile
import mlflow

plots = os.path.join(tempfile.mkdtemp(), "plots")
os.makedirs(os.path.join(plots, "roc"))
for name in ("a.csv", "b.csv", "roc/c.csv"):
    with open(os.path.join(plots, name), "w") as out:
        out.write(name)
with mlflow.start_run(run_name="tree"):
    mlflow.log_artifact(plots, artifact_path="evaluation")
"""
    outcome = run(server, tmp_path, "tree.py", source)
    assert only_run(outcome)["artifacts"] == [
        ("evaluation/plots/a.csv", 5),
        ("evaluation/plots/b.csv", 5),
        ("evaluation/plots/roc/c.csv", 9),
    ]
    assert puts(outcome) == 3, outcome.run.requests


def remedied(example: str, replacements: list[tuple[str, str]]) -> str:
    """The example with the remedy its help names applied (each text must be there)."""
    text = (RULES_DIR / "MLF107" / example).read_text()
    for old, new in replacements:
        assert old in text, f"{example} changed: update the remedy in this test ({old!r})"
        text = text.replace(old, new)
    return text


CALLBACK_REMEDY = [
    (
        '                mlflow.log_artifact(path, artifact_path=f"plots/epoch_{epoch}")\n',
        "",
    ),
    (
        "                plt.close(figure)\n",
        "                plt.close(figure)\n"
        '            mlflow.log_artifacts(tmp, artifact_path=f"plots/epoch_{epoch}")\n',
    ),
]

TRACKER_REMEDY = [
    (
        "        for path in paths:\n"
        "            self.client.log_artifact(self.run_id, path, artifact_path=folder)\n",
        "        with tempfile.TemporaryDirectory() as upload:\n"
        "            for path in paths:\n"
        "                shutil.copy(path, upload)\n"
        "            self.client.log_artifacts(self.run_id, upload, artifact_path=folder)\n",
    ),
    (
        "        self.client.log_artifact(self.run_id, config_path)\n"
        "        self.client.log_artifact(self.run_id, requirements_path)\n"
        "        self.client.log_artifact(self.run_id, summary_path)\n",
        "        with tempfile.TemporaryDirectory() as upload:\n"
        "            for path in (config_path, requirements_path, summary_path):\n"
        "                shutil.copy(path, upload)\n"
        "            self.client.log_artifacts(self.run_id, upload)\n",
    ),
    ("import os\n", "import os\nimport shutil\n"),
]


@pytest.mark.parametrize(
    ("example", "remedy", "files"),
    [
        ("reported_callback.py", CALLBACK_REMEDY, 12),
        ("reported_tracker.py", TRACKER_REMEDY, 8),
    ],
)
def test_the_remedy_stores_the_same_artifacts(
    server: Backend, tmp_path: Path, example: str, remedy: list[tuple[str, str]], files: int
) -> None:
    """The reported examples upload one request per file; written into one folder and
    uploaded with `log_artifacts`, as their help says, they store the same artifacts with as
    many requests on an `mlflow server` (the gain is on the stores that upload in parallel)."""
    original = server.run(RULES_DIR / "MLF107" / example)
    assert original.run.returncode == 0, original.run.failure()
    fixed_source = remedied(example, remedy)
    assert [c for _, _, c in lint(fixed_source)] == [], "the remedy is not clean"
    fixed = run(server, tmp_path, example, fixed_source)
    assert fixed.snapshot == original.snapshot, (
        f"--- original\n{snapshot_json(original.snapshot)}\n--- remedy\n"
        f"{snapshot_json(fixed.snapshot)}"
    )
    assert puts(original) == puts(fixed) == files


# --- MLF109 ------------------------------------------------------------------------------------
def test_small_artifacts_upload_one_file_per_call(server: Backend, tmp_path: Path) -> None:
    source = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import mlflow

with mlflow.start_run(run_name="small"):
    for i in range(3):
        mlflow.log_dict({"i": i}, f"dicts/{i}.json")
        mlflow.log_text(str(i), f"texts/{i}.txt")
        figure = plt.figure()
        mlflow.log_figure(figure, f"figures/{i}.png")
        plt.close(figure)
        mlflow.log_image(np.zeros((4, 4, 3), dtype=np.uint8), f"images/{i}.png")
"""
    # the dicts and texts merge into one artifact each; figures and images have nothing to merge
    # into, and the uploads below show a folder of them would not take fewer requests either
    assert [(line, c) for line, _, c in lint(source)] == [(10, "MLF109"), (11, "MLF109")]
    outcome = run(server, tmp_path, "small.py", source)
    stored = [path for path, _ in only_run(outcome)["artifacts"]]
    assert len(stored) == 12
    assert puts(outcome) == 12, outcome.run.requests


def test_log_table_downloads_and_uploads_the_whole_table_on_every_call(
    server: Backend, tmp_path: Path
) -> None:
    source = """
import json
import mlflow

with mlflow.start_run(run_name="table") as run:
    for step in range(4):
        mlflow.log_table({"step": [step], "loss": [1.0 / (step + 1)]}, artifact_file="loss.json")
    table = mlflow.load_table("loss.json", run_ids=[run.info.run_id])
    print("rows:", json.dumps(table["step"].tolist()))
"""
    [(_, _, code)] = lint(source)
    assert code == "MLF109"
    outcome = run(server, tmp_path, "table.py", source)
    assert "rows: [0, 1, 2, 3]" in outcome.run.stdout.splitlines()  # one file, all the rows
    requests = outcome.run.requests.by_endpoint
    assert requests.get(PUT) == 4, outcome.run.requests  # uploaded whole, each time
    # every call after the first downloads the stored table (the last download is load_table)
    assert requests.get(DOWNLOAD) == 3 + 1, outcome.run.requests


# --- artifact stores: a folder in parallel, or file by file --------------------------------------
def write_folder(root: Path, count: int) -> Path:
    folder = root / "folder"
    (folder / "nested").mkdir(parents=True)
    for i in range(count):
        (folder / ("nested" if i % 2 else "") / f"f{i}.txt").write_text(str(i))
    return folder


class Recorder:
    """Records calls, the threads they run on, and how many ran at once."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.calls: list[Any] = []
        self.threads: set[int] = set()
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls.append((args, kwargs))
            self.threads.add(threading.get_ident())
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.pause)
        with self._lock:
            self.running -= 1


def test_cloud_artifact_repositories_upload_a_folder_in_parallel(tmp_path: Path) -> None:
    from mlflow.store.artifact.azure_data_lake_artifact_repo import (
        AzureDataLakeArtifactRepository,
    )
    from mlflow.store.artifact.b2_artifact_repo import B2ArtifactRepository
    from mlflow.store.artifact.cloud_artifact_repo import CloudArtifactRepository
    from mlflow.store.artifact.databricks_artifact_repo import DatabricksArtifactRepository
    from mlflow.store.artifact.r2_artifact_repo import R2ArtifactRepository

    for store in (
        DatabricksArtifactRepository,
        AzureDataLakeArtifactRepository,
        R2ArtifactRepository,
        B2ArtifactRepository,
    ):
        assert issubclass(store, CloudArtifactRepository)
        assert store.log_artifacts is CloudArtifactRepository.log_artifacts, store

    credentials, uploads = Recorder(), Recorder(pause=0.05)

    class Store(CloudArtifactRepository):
        def _get_write_credential_infos(self, remote_file_paths: list[str]) -> list[None]:
            credentials(list(remote_file_paths))
            return [None] * len(remote_file_paths)

        def _upload_to_cloud(self, **kwargs: Any) -> None:
            uploads(**kwargs)

        def _get_read_credential_infos(self, remote_file_paths: list[str]) -> list[None]:
            raise NotImplementedError

        def _download_from_cloud(self, *args: Any) -> None:
            raise NotImplementedError

        def list_artifacts(self, path: Any = None) -> list[Any]:
            raise NotImplementedError

    store = Store("cloud://bucket/run/artifacts")
    store.log_artifacts(str(write_folder(tmp_path, 60)), "out")
    assert len(uploads.calls) == 60
    assert [len(args[0]) for args, _ in credentials.calls] == [50, 10]  # batched credentials
    assert uploads.most_at_once > 1  # in parallel


def test_databricks_uploads_a_folder_in_parallel_and_a_file_alone(tmp_path: Path) -> None:
    """Run artifacts on Databricks go through the SDK files API (DatabricksSdkArtifactRepository,
    parallel per folder), falling back to DatabricksArtifactRepository, whose `log_artifact`
    asks for write credentials on every call."""
    from mlflow.store.artifact.databricks_artifact_repo import DatabricksArtifactRepository
    from mlflow.store.artifact.databricks_sdk_artifact_repo import DatabricksSdkArtifactRepository

    files = Recorder(pause=0.05)
    sdk = SimpleNamespace(
        _create_thread_pool=lambda: ThreadPoolExecutor(max_workers=4), log_artifact=files
    )
    DatabricksSdkArtifactRepository.log_artifacts(sdk, str(write_folder(tmp_path, 8)), "out")
    assert len(files.calls) == 8 and files.most_at_once > 1

    credentials, uploads = Recorder(), Recorder()
    fallback = SimpleNamespace(
        _get_write_credential_infos=lambda paths: credentials(paths) or [None] * len(paths),
        _upload_to_cloud=uploads,
    )
    for i in range(3):
        DatabricksArtifactRepository.log_artifact(fallback, str(tmp_path / f"f{i}.txt"), "out")
    assert len(credentials.calls) == len(uploads.calls) == 3


def test_s3_gcs_and_azure_blob_upload_a_folder_file_by_file(tmp_path: Path) -> None:
    from mlflow.store.artifact import gcs_artifact_repo
    from mlflow.store.artifact.azure_blob_artifact_repo import AzureBlobArtifactRepository
    from mlflow.store.artifact.s3_artifact_repo import S3ArtifactRepository

    folder = str(write_folder(tmp_path, 6))
    caller = threading.get_ident()

    s3_uploads = Recorder()
    s3 = S3ArtifactRepository("s3://bucket/run/artifacts")
    s3._get_s3_client = lambda: object()  # type: ignore[method-assign]
    s3._upload_file = s3_uploads  # type: ignore[method-assign]
    s3.log_artifacts(folder, "out")

    gcs_uploads = Recorder()
    blob = SimpleNamespace(upload_from_filename=gcs_uploads)
    gcs = SimpleNamespace(
        artifact_uri="gs://bucket/run/artifacts",
        parse_gcs_uri=gcs_artifact_repo.GCSArtifactRepository.parse_gcs_uri,
        _get_bucket=lambda name: SimpleNamespace(blob=lambda path, chunk_size=None: blob),
        _refresh_credentials=lambda: None,
        _GCS_UPLOAD_CHUNK_SIZE=None,
        _GCS_DEFAULT_TIMEOUT=None,
    )
    gcs_artifact_repo.GCSArtifactRepository.log_artifacts(gcs, folder, "out")  # type: ignore[arg-type]

    azure_uploads = Recorder()
    container = SimpleNamespace(upload_blob=azure_uploads)
    azure = AzureBlobArtifactRepository(
        "wasbs://container@account.blob.core.windows.net/run/artifacts",
        client=SimpleNamespace(get_container_client=lambda name: container),
    )
    azure.log_artifacts(folder, "out")

    for uploads in (s3_uploads, gcs_uploads, azure_uploads):
        assert len(uploads.calls) == 6
        assert uploads.threads == {caller} and uploads.most_at_once == 1  # one after another


def test_stores_are_what_the_uris_select() -> None:
    """The schemes the docs name map to those stores."""
    from mlflow.store.artifact.artifact_repository_registry import (
        _artifact_repository_registry as registry,
    )

    stores = registry.get_registered_artifact_repositories()
    assert stores["abfss"].__name__ == "AzureDataLakeArtifactRepository"
    assert stores["r2"].__name__ == "R2ArtifactRepository"
    assert stores["b2"].__name__ == "B2ArtifactRepository"
    assert stores["s3"].__name__ == "S3ArtifactRepository"
    assert stores["gs"].__name__ == "GCSArtifactRepository"
    assert stores["wasbs"].__name__ == "AzureBlobArtifactRepository"
    assert stores["mlflow-artifacts"].__name__ == "MlflowArtifactsRepository"
