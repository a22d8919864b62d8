"""Everything mlflow-lint knows about MLflow's tracking API, in one place.

Rules never hard-code MLflow names, signatures or limits; they ask this module. The facts come
from MLflow 3.18 (see ../shared/mlflow-api-facts.md in the workplace) and hold back to 2.16.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Optional

# --- batch limits (mlflow/utils/validation.py) -------------------------------------------------
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000

# --- key validation (mlflow/utils/validation.py: validate_param_and_metric_name) ------------
MAX_ENTITY_KEY_LENGTH = 250
_KEY_CHARACTERS = re.compile(r"^[/\w.\- :]*$")  # non-Windows; colon allowed since 2.16.0


def valid_key(key: str) -> bool:
    """Whether MLflow accepts `key` as a metric, param or tag name: its characters, its
    length, and a path that normalises to itself (no "", "a/", "a//b", "../x", "/x")."""
    return (
        bool(_KEY_CHARACTERS.match(key))
        and 0 < len(key) <= MAX_ENTITY_KEY_LENGTH
        and posixpath.normpath(key) == key
        and key != "."
        and not key.startswith(("..", "/"))
    )


# --- types of values the resolver tracks ---------------------------------------------------------
# A resolved expression is either a dotted path into the mlflow package ("mlflow.log_metric") or
# the name of an instance type below ("MlflowClient").
CLIENT = "MlflowClient"
ACTIVE_RUN = "ActiveRun"
INSTANCE_TYPES = frozenset({CLIENT, ACTIVE_RUN})

CLIENT_CLASS = "mlflow.MlflowClient"
_CLIENT_CLASS_ALIASES = frozenset(
    {
        "mlflow.MlflowClient",
        "mlflow.tracking.MlflowClient",
        "mlflow.client.MlflowClient",
        "mlflow.tracking.client.MlflowClient",
    }
)
# Modules whose public functions are the fluent API (re-exported as mlflow.<name>).
_FLUENT_MODULES = ("mlflow.tracking.fluent.", "mlflow.")

# What calling a resolved path returns, when the resolver should track it.
_FACTORY_RESULTS = {CLIENT_CLASS: CLIENT, "mlflow.start_run": ACTIVE_RUN}


@dataclass(frozen=True)
class Signature:
    """Positional parameter order of one API function (keyword-only parameters are omitted)."""

    params: tuple[str, ...]

    def index(self, name: str) -> Optional[int]:
        return self.params.index(name) if name in self.params else None


# Fluent functions (mlflow/tracking/fluent.py, 3.18). Positional order matters for autofixes:
# fluent log_metric is (key, value, step, synchronous, timestamp, run_id, ...).
FLUENT_SIGNATURES: dict[str, Signature] = {
    "log_metric": Signature(
        ("key", "value", "step", "synchronous", "timestamp", "run_id", "model_id", "dataset")
    ),
    "log_metrics": Signature(
        ("metrics", "step", "synchronous", "run_id", "timestamp", "model_id", "dataset")
    ),
    "log_param": Signature(("key", "value", "synchronous")),
    "log_params": Signature(("params", "synchronous", "run_id")),
    "set_tag": Signature(("key", "value", "synchronous")),
    "set_tags": Signature(("tags", "synchronous")),
    "log_artifact": Signature(("local_path", "artifact_path", "run_id")),
    "log_artifacts": Signature(("local_dir", "artifact_path", "run_id")),
    "log_text": Signature(("text", "artifact_file", "run_id")),
    "log_dict": Signature(("dictionary", "artifact_file", "run_id")),
    "log_figure": Signature(("figure", "artifact_file")),
    "log_image": Signature(("image", "artifact_file", "key", "step", "timestamp", "synchronous")),
    "log_table": Signature(("data", "artifact_file", "run_id")),
    "start_run": Signature(
        (
            "run_id",
            "experiment_id",
            "run_name",
            "nested",
            "parent_run_id",
            "tags",
            "description",
            "log_system_metrics",
        )
    ),
    "end_run": Signature(("status",)),
    "set_experiment": Signature(("experiment_name", "experiment_id", "trace_location")),
    "get_run": Signature(("run_id",)),
    "active_run": Signature(()),
    "last_active_run": Signature(()),
    "flush_async_logging": Signature(()),
    "search_runs": Signature(("experiment_ids", "filter_string")),
    "get_experiment_by_name": Signature(("name",)),
}

# MlflowClient methods (mlflow/tracking/client.py, 3.18). Note log_metric's order differs from
# the fluent one: (run_id, key, value, timestamp, step, ...).
CLIENT_SIGNATURES: dict[str, Signature] = {
    "log_metric": Signature(
        (
            "run_id",
            "key",
            "value",
            "timestamp",
            "step",
            "synchronous",
            "dataset_name",
            "dataset_digest",
            "model_id",
        )
    ),
    "log_param": Signature(("run_id", "key", "value", "synchronous")),
    "set_tag": Signature(("run_id", "key", "value", "synchronous")),
    "log_batch": Signature(("run_id", "metrics", "params", "tags", "synchronous")),
    "log_artifact": Signature(("run_id", "local_path", "artifact_path")),
    "log_artifacts": Signature(("run_id", "local_dir", "artifact_path")),
    "log_text": Signature(("run_id", "text", "artifact_file")),
    "log_dict": Signature(("run_id", "dictionary", "artifact_file")),
    "log_figure": Signature(("run_id", "figure", "artifact_file")),
    "log_image": Signature(
        ("run_id", "image", "artifact_file", "key", "step", "timestamp", "synchronous")
    ),
    "log_table": Signature(("run_id", "data", "artifact_file")),
    "get_run": Signature(("run_id",)),
    "get_metric_history": Signature(("run_id", "key")),
    "search_runs": Signature(("experiment_ids", "filter_string")),
    "get_experiment_by_name": Signature(("name",)),
}

# One REST request per call, per item: the calls the write-path rules look for.
UNBATCHED_METRIC = frozenset({"log_metric"})
UNBATCHED_PARAM = frozenset({"log_param"})
UNBATCHED_TAG = frozenset({"set_tag"})
# One request per call for many items (the client chunks above the limits since MLflow 1.27).
BATCHED = frozenset({"log_metrics", "log_params", "set_tags", "log_batch"})
# Batched fluent form of each unbatched fluent call, with the dict parameter's name.
FLUENT_BATCH_FORM = {
    "log_metric": ("log_metrics", "metrics"),
    "log_param": ("log_params", "params"),
    "set_tag": ("set_tags", "tags"),
}
# Read-path calls: one request (and one database query) each.
FLUENT_READS = frozenset(
    {
        "get_run",
        "search_runs",
        "get_experiment",
        "get_experiment_by_name",
        "search_experiments",
        "set_experiment",
        "get_parent_run",
    }
)
CLIENT_READS = frozenset(
    {
        "get_run",
        "get_parent_run",
        "get_metric_history",
        "get_experiment",
        "get_experiment_by_name",
        "get_registered_model",
        "get_model_version",
        "get_model_version_by_alias",
        "get_latest_versions",
        "get_logged_model",
        "get_dataset",
        "get_trace",
        "search_runs",
        "search_experiments",
        "search_registered_models",
        "search_model_versions",
        "search_logged_models",
        "search_traces",
    }
)
CLIENT_READ_PREFIX = "get_"
# `MlflowClient.get_*` methods that return a constant or a setting: no request.
CLIENT_LOCAL_GETTERS = frozenset({"get_model_version_stages", "get_workspace_store_uri"})
# The one call that fetches in a single request what a loop reads item by item, for the reads
# that have one (each checked against real MLflow in tests/test_reads_mlflow.py). A read
# missing here (`get_metric_history`, `get_model_version_by_alias`, `get_dataset`, ...) has
# no batched form; `search_*` calls are batched forms themselves (one broader search).
READ_BATCH_FORMS: dict[str, str] = {
    "get_run": (
        "mlflow.search_runs(filter_string=\"attributes.run_id IN ('id1', 'id2')\","
        " search_all_experiments=True)"
    ),
    "get_parent_run": (
        "mlflow.search_runs(filter_string=\"attributes.run_id IN ('id1', 'id2')\","
        " search_all_experiments=True)"
    ),
    "get_experiment": "mlflow.search_experiments(filter_string=\"experiment_id IN ('1', '2')\")",
    # no `name IN (...)` and no OR in search_experiments' filter: fetch them all, pick by name
    "get_experiment_by_name": "mlflow.search_experiments()",
    "set_experiment": "mlflow.search_experiments()",
    "get_registered_model": (
        "MlflowClient().search_registered_models(filter_string=\"name IN ('a', 'b')\")"
    ),
    "get_model_version": (
        "MlflowClient().search_model_versions(filter_string=\"name IN ('a', 'b')\")"
    ),
    "get_latest_versions": (
        "MlflowClient().search_model_versions(filter_string=\"name IN ('a', 'b')\")"
    ),
    "get_logged_model": (
        "MlflowClient().search_logged_models(experiment_ids,"
        " filter_string=\"model_id IN ('m-1', 'm-2')\")"
    ),
    "get_trace": (
        "MlflowClient().search_traces(filter_string=\"trace.request_id IN ('tr-1', 'tr-2')\")"
    ),
}
SEARCH_PREFIX = "search_"
# Calls that change what later reads return (listings, lookups by name): a loop making one
# re-reads to see its own change, not to repeat a request. Logging calls are not among them.
STATE_CHANGE_PREFIXES = ("delete_", "transition_", "rename_", "restore_", "update_")
# Reads of runs, and the writes that change what they return.
RUN_READS = frozenset({"get_run", "get_parent_run", "search_runs"})
RUN_WRITES = frozenset(
    {
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "set_tag",
        "set_tags",
        "delete_tag",
        "log_batch",
        "set_terminated",
        "end_run",
    }
)
STATE_CHANGES = frozenset(
    {"create_experiment", "create_registered_model", "create_model_version", "register_model"}
)
# Lookups by name: a loop over names needs one `search_experiments()` and a pick by name.
EXPERIMENT_LOOKUPS = frozenset({"set_experiment", "get_experiment_by_name"})
# Start and end of a fluent run.
START_RUN, END_RUN = "start_run", "end_run"
# Fluent calls that log to the active run, starting one when there is none.
FLUENT_LOGGING = frozenset(
    {
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "set_tag",
        "set_tags",
        "log_artifact",
        "log_artifacts",
        "log_text",
        "log_dict",
        "log_figure",
        "log_image",
        "log_table",
        "log_input",
    }
)


# Calls that accept a `step`.
TAKES_STEP = frozenset({"log_metric", "log_metrics", "log_image"})
# Metric calls whose points land on step 0 without one.
METRIC_CALLS = frozenset({"log_metric", "log_metrics"})
# Batched metric calls: one request per call.
BATCHED_METRICS = frozenset({"log_metrics", "log_batch"})
# Small artifacts: one upload (a temporary file) per call.
SMALL_ARTIFACTS = frozenset({"log_text", "log_dict", "log_figure", "log_table", "log_image"})
# Of these, the ones whose contents merge into one artifact after a loop (the texts, the
# dicts, the rows). A figure or an image is a document of its own: a folder of them uploaded
# with `log_artifacts` still takes one request per file on an `mlflow server`, S3, GCS and
# Azure Blob (see FILE_UPLOAD), and `log_image(key=, step=)` uploads one image per call too.
MERGEABLE_ARTIFACTS = frozenset({"log_text", "log_dict", "log_table"})
ARTIFACT_UPLOADS = frozenset({"log_artifact", "log_artifacts"})
# One file per call (a directory given to it is uploaded as a tree, file by file); the
# directory form uploads a folder in one call: file by file too on an `mlflow server`
# (HttpArtifactRepository), S3, GCS and Azure Blob, in parallel with credentials fetched in
# batches on the CloudArtifactRepository stores (Databricks, presigned URLs, ADLS).
FILE_UPLOAD, DIRECTORY_UPLOAD = "log_artifact", "log_artifacts"
# Small artifacts that read the stored file and upload it again with the new rows appended.
APPENDING_ARTIFACTS = frozenset({"log_table"})
# Calls that change which server a new MlflowClient() talks to.
URI_SETTERS = frozenset({"set_tracking_uri", "set_registry_uri"})
# Calls that make no request.
NO_REQUEST = frozenset({CLIENT, "active_run", "last_active_run", "get_tracking_uri"})
# Calls that drain the async logging queue (`_shut_down_async_logging` is private, used by
# MLflow's own autologging; `MlflowClient.set_terminated` does it too, see concurrency.py)
ASYNC_FLUSHES = frozenset({END_RUN, "flush_async_logging", "_shut_down_async_logging"})
ENABLE_ASYNC = "mlflow.config.enable_async_logging"

# What moves files or models, creates a run or evaluates a model (`mlflow.<flavor>.load_model`,
# `MlflowClient.download_artifacts`, `mlflow.genai.evaluate`): many requests or a long transfer
# each, so a read in the same loop iteration is a small share of its cost.
HEAVY_WORK = frozenset(
    {
        *ARTIFACT_UPLOADS,
        "download_artifacts",
        "load_model",
        "log_model",
        "save_model",
        "register_model",
        "create_model_version",
        "copy_model_version",
        "create_run",
        "evaluate",
    }
)


# Words in the name of any other call (yours, boto3's, a framework's) that moves data or
# trains (`download_file`, `import_model_version`, `trainer.fit`, `paginate`): each call is
# a transfer or a computation that dwarfs one tracking read.
HEAVY_WORDS = frozenset(
    {
        *("download", "upload", "import", "export", "copy", "transfer", "sync"),
        *("train", "fit", "evaluate", "paginate", "deploy"),
    }
)
# The words above that say so alone (`trainer.fit(...)`); `copy()` or `sync()` alone do not.
HEAVY_ALONE = frozenset({"download", "upload", "train", "fit", "evaluate", "paginate", "deploy"})
# Calls, as written, that run another program (a training job, a copy tool).
HEAVY_CALLS = frozenset({"subprocess.run", "subprocess.check_call", "subprocess.check_output"})


def is_heavy_work(resolved_callee: Optional[str]) -> bool:
    """Whether a resolved callee (`mlflow.pyfunc.load_model`, `MlflowClient.create_run`) is
    MLflow's heavy work (HEAVY_WORK)."""
    if resolved_callee is None or not resolved_callee.startswith(("mlflow.", CLIENT + ".")):
        return False
    return resolved_callee.rsplit(".", 1)[-1] in HEAVY_WORK


# Every fluent name the rules act on (`mlflow.<name>`): a name outside this set is no finding's
# business, which lets elision.py skip code that only uses other parts of mlflow.
KNOWN_FLUENT_NAMES = frozenset(
    {
        *FLUENT_SIGNATURES,
        *FLUENT_READS,
        *FLUENT_LOGGING,
        *BATCHED,
        *TAKES_STEP,
        *SMALL_ARTIFACTS,
        *ARTIFACT_UPLOADS,
        *URI_SETTERS,
        *NO_REQUEST,
        *ASYNC_FLUSHES,
        START_RUN,
        END_RUN,
    }
)


@dataclass(frozen=True)
class ApiCall:
    """A call proven to be MLflow's: `mlflow.log_metric` or `MlflowClient.log_metric`."""

    name: str  # bare function or method name: "log_metric"
    is_client: bool  # True for MlflowClient methods, False for the fluent API

    @property
    def qualname(self) -> str:
        return f"{CLIENT}.{self.name}" if self.is_client else f"mlflow.{self.name}"

    @property
    def signature(self) -> Optional[Signature]:
        table = CLIENT_SIGNATURES if self.is_client else FLUENT_SIGNATURES
        return table.get(self.name)


def canonical(path: str) -> str:
    """Map the many spellings of one MLflow object to a single dotted path."""
    if path in _CLIENT_CLASS_ALIASES:
        return CLIENT_CLASS
    if path.startswith("mlflow.tracking.fluent."):
        return "mlflow." + path[len("mlflow.tracking.fluent.") :]
    if path.startswith("mlflow.entities."):
        return "mlflow.entities." + path.rsplit(".", 1)[1]
    return path


def is_fluent_module(value: Optional[str]) -> bool:
    """A fluent API module itself (`mlflow`), as `self.mlflow = mlflow` stores it."""
    return value is not None and value + "." in _FLUENT_MODULES


def is_mlflow_path(value: Optional[str]) -> bool:
    return value is not None and (value == "mlflow" or value.startswith("mlflow."))


# Modules through which an attribute chain can still reach an API function or MlflowClient
# (`mlflow.tracking.fluent.log_metric`, `mlflow.tracking.client.MlflowClient`).
_API_MODULES = frozenset(
    ".".join(parts[:n])
    for path in (*_CLIENT_CLASS_ALIASES, *(m + "x" for m in _FLUENT_MODULES))
    for parts in [path.split(".")]
    for n in range(1, len(parts))
)


def may_reach_api(path: str) -> bool:
    """Whether a name bound to `path` ("mlflow.tracking", "mlflow.log_metric") can lead to an
    MLflow call a rule acts on: calling it, or an attribute of it. `mlflow.entities.Metric`,
    `mlflow.MlflowException` or `mlflow.store.tracking.rest_store` cannot."""
    path = canonical(path)
    if path in _API_MODULES or path == CLIENT_CLASS or ENABLE_ASYNC.startswith(path):
        return True
    found = api_call_for(path)
    return found is not None and found.name in KNOWN_FLUENT_NAMES


def factory_result(path: Optional[str]) -> Optional[str]:
    """The instance type returned by calling `path` (MlflowClient(...) -> "MlflowClient")."""
    return _FACTORY_RESULTS.get(path) if path else None


def api_call_for(resolved_callee: Optional[str]) -> Optional[ApiCall]:
    """Turn a resolved callee ("mlflow.log_metric", "MlflowClient.log_batch") into an ApiCall."""
    if resolved_callee is None:
        return None
    if resolved_callee.startswith(CLIENT + "."):
        return ApiCall(resolved_callee[len(CLIENT) + 1 :], is_client=True)
    for prefix in _FLUENT_MODULES:
        if resolved_callee.startswith(prefix):
            rest = resolved_callee[len(prefix) :]
            if rest and "." not in rest:
                return ApiCall(rest, is_client=False)
    return None


# MLF101's buffering fix flushes when this many metrics wait, or this many seconds passed
# (so live dashboards stay near-live).
BUFFER_FLUSH_SECONDS = 5


def is_read(call: ApiCall) -> bool:
    """One request per call on the read path (`get_run`, `search_runs`, `MlflowClient.get_*`)."""
    if call.is_client:
        if call.name in CLIENT_LOCAL_GETTERS:
            return False
        return call.name in CLIENT_READS or call.name.startswith(CLIENT_READ_PREFIX)
    return call.name in FLUENT_READS


def changes_state(call: ApiCall) -> bool:
    """Whether `call` creates, deletes, renames or moves what reads list or look up."""
    return call.name in STATE_CHANGES or call.name.startswith(STATE_CHANGE_PREFIXES)


# Batched forms newer than the rest: `experiment_id` became a search_experiments filter
# key, with `IN`, in MLflow 3.17.0 (3.16 rejects it as an invalid attribute).
READ_BATCH_SINCE: dict[str, str] = {"get_experiment": "3.17"}


def read_batch_form(call: ApiCall) -> Optional[str]:
    """The call that fetches many items in one request, for a read made item by item; None
    when MLflow has none. A search is its own batched form (one broader search)."""
    if call.name.startswith(SEARCH_PREFIX):
        return call.name
    return READ_BATCH_FORMS.get(call.name)
