"""Run a training-style script against a real MLflow backend and read back what it stored.

Used by test_logged_data.py to prove that `mlflow-lint fix` never changes what is logged: the
script runs once as written and once fixed, each against a fresh experiment, and the two
snapshots must be equal while the fixed version makes no more tracking requests.

Backends
    * `mlflow_server(root)`: a real `mlflow server` (MLflow 3.x starts `python -m uvicorn
      mlflow.server.fastapi_app:app`; gunicorn only with `--gunicorn-opts`) with a sqlite backend
      store and proxied artifacts (`mlflow-artifacts:/`, stored under `root/artifacts`), one
      uvicorn worker on a free loopback port. Its process group is killed at the end. The job
      runner (`MLFLOW_SERVER_ENABLE_JOB_EXECUTION`, on by default since 3.x, which starts a
      huey consumer for GenAI jobs) is switched off: tracking does not use it and it costs two
      more processes and about a second of startup.
    * `sqlite_backend(root)`: a plain `sqlite:///root/tracking.db` tracking URI, no server. The
      script then talks to `SqlAlchemyStore` in-process and artifacts go to `./mlruns` under
      the script's working directory.

Counting requests
    * Server: the server's own access log. `mlflow server` passes uvicorn a log config
      (mlflow/server/uvicorn_log_config.yaml) that writes one `uvicorn.access` line per request
      to stdout, and uvicorn writes it when the response starts, i.e. before the client can
      see the response. stdout goes to an append-only file; the lines added while the script
      ran are its requests (scripts run one at a time per server, even when `compare_all`
      runs the backends concurrently; the test process's own read-back happens afterwards).
      This is what the server actually served, whatever client code path sent it, retries
      included, so it is the count reported for the server backend.
    * Both backends, in the script's process: a generated `sitecustomize.py` (first on
      PYTHONPATH) installs an import hook that patches classes as soon as their module is
      imported, so the script itself is untouched:
        - `requests.Session.send`: one line per HTTP request (method and URL path). Against
          the server this must agree with the access log, which checks the counting itself.
        - every public method defined on `SqlAlchemyStore` and `LocalArtifactRepository`:
          one line per outermost call (a thread-local depth keeps internal store-to-store
          calls from being counted twice). Against plain sqlite these store calls are the
          "requests": each is one database transaction or one artifact copy.
      Every line is appended to a per-process file in a directory named by an environment
      variable, so counts survive crashes and include subprocesses. HTTP requests to any
      other host are reported separately (the scripts must not use the network otherwise;
      MLflow's usage telemetry, which fetches a config from the internet, is switched off).
      (A sitecustomize.py of the environment itself, if there were one, would be shadowed.)
    Parsing the access log needs no change to the server; wrapping
    `mlflow.utils.rest_utils.http_request` instead would miss modules that imported the name
    before the wrapper was installed, which is why the lowest shared layer is patched.

Snapshots
    `snapshot(tracking_uri, experiment_name)` reads back, through `MlflowClient`, every run of
    the experiment: status, params, tags except MLflow's own `mlflow.*` system tags, the full
    history of every metric (step and value, ordered by step then value; wall-clock timestamps
    excluded), the artifact listing (path and size) and the parent run. Runs are keyed by
    their run name when it was given by the code (duplicates numbered in creation order) and
    by creation order when MLflow generated a random name (`mlflow.utils.name_utils`). A run
    id inside a param or tag value (`set_tag("run_id", run.info.run_id)`) is replaced by the
    key of that run, since run ids are random.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import itertools
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypedDict

BIN = Path(sys.executable).parent
MLFLOW = BIN / "mlflow"
COUNTS_ENV = "MLFLOW_HARNESS_COUNTS_DIR"
SERVER_STARTUP_TIMEOUT = 120.0
SCRIPT_TIMEOUT = 120.0

_ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+" (?P<status>\d{3})')
_ARTIFACT_PATH = re.compile(r"^(?P<prefix>.*/mlflow-artifacts/artifacts)/.*$")


class HarnessError(RuntimeError):
    """The harness itself could not do its job (a server that does not start, a timeout)."""


# --------------------------------------------------------------------------------------------
# Request counting


def endpoint(method: str, target: str) -> str:
    """`METHOD /path`, without the query string; artifact uploads and downloads, whose path
    names the run and the file, collapse into one endpoint."""
    path = target.split("?", 1)[0]
    match = _ARTIFACT_PATH.match(path)
    if match:
        path = match.group("prefix") + "/<path>"
    return f"{method} {path}"


@dataclass(frozen=True)
class RequestCounts:
    """Calls per endpoint (`POST /api/2.0/mlflow/runs/log-metric`, or for the sqlite backend
    `SqlAlchemyStore.log_metric`), and where they were counted."""

    source: str
    by_endpoint: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_endpoint.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_endpoint.items()))
        return f"{self.total} ({self.source}: {parts})"


def _count_tracking_calls() -> None:
    """Runs in the script's process as its sitecustomize.py (written out with
    inspect.getsource, so it must not use anything from this module)."""
    import functools
    import importlib.abc
    import inspect
    import os
    import sys
    import threading
    import urllib.parse

    out_dir = os.environ.get("MLFLOW_HARNESS_COUNTS_DIR")
    if not out_dir:
        return
    state = threading.local()

    def record(line: str) -> None:
        # One short O_APPEND write per call: safe across threads, forks and subprocesses.
        path = os.path.join(out_dir, f"calls-{os.getpid()}.txt")
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")

    def patch_requests(module: Any) -> None:
        send = module.Session.send

        @functools.wraps(send)
        def counting_send(self: Any, request: Any, **kwargs: Any) -> Any:
            url = urllib.parse.urlsplit(request.url)
            record(f"http {request.method} {url.netloc} {url.path}")
            return send(self, request, **kwargs)

        module.Session.send = counting_send

    def counted(label: str, func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(state, "depth", 0)
            if depth == 0:
                record(f"store {label}")
            state.depth = depth + 1
            try:
                return func(*args, **kwargs)
            finally:
                state.depth = depth

        return wrapper

    def patch_methods(class_name: str) -> Any:
        def patch(module: Any) -> None:
            cls = getattr(module, class_name, None)
            if cls is None:
                return
            for name, attr in list(vars(cls).items()):
                if not name.startswith("_") and inspect.isfunction(attr):
                    setattr(cls, name, counted(f"{class_name}.{name}", attr))

        return patch

    patches = {
        "requests.sessions": patch_requests,
        "mlflow.store.tracking.sqlalchemy_store": patch_methods("SqlAlchemyStore"),
        "mlflow.store.artifact.local_artifact_repo": patch_methods("LocalArtifactRepository"),
    }

    class PatchAfterImport(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            patch = patches.pop(fullname, None)
            if patch is None:
                return None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None and spec.loader is not None:
                    break
            else:
                return None
            exec_module = spec.loader.exec_module

            def exec_and_patch(module: Any) -> None:
                exec_module(module)
                patch(module)

            spec.loader.exec_module = exec_and_patch
            return spec

    sys.meta_path.insert(0, PatchAfterImport())


def _sitecustomize_source() -> str:
    return (
        "from __future__ import annotations\n\nfrom typing import Any\n\n\n"
        + inspect.getsource(_count_tracking_calls)
        + "\n\n_count_tracking_calls()\n"
    )


def _read_client_counts(
    counts_dir: Path, tracking_uri: str
) -> tuple[RequestCounts, dict[str, int]]:
    """The script's own count (HTTP requests to the tracking server, or store calls for a
    sqlite URI), and its HTTP requests to any other host."""
    tracking_host = urllib.parse.urlsplit(tracking_uri).netloc
    http: Counter[str] = Counter()
    store: Counter[str] = Counter()
    foreign: Counter[str] = Counter()
    for path in sorted(counts_dir.glob("calls-*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "http":
                method, host, target = rest.split(" ", 2)
                if host == tracking_host:
                    http[endpoint(method, target)] += 1
                else:
                    foreign[f"{method} {host}{target}"] += 1
            elif kind == "store":
                store[rest] += 1
    if tracking_uri.startswith("sqlite:"):
        return RequestCounts("store calls in the script", dict(store)), dict(foreign)
    return RequestCounts("HTTP requests sent by the script", dict(http)), dict(foreign)


def _read_access_log(path: Path, start: int) -> RequestCounts:
    """The requests logged after byte offset `start`."""
    with path.open("rb") as log:
        log.seek(start)
        data = log.read()
    counts: Counter[str] = Counter()
    for line in data.decode("utf-8", "replace").splitlines():
        match = _ACCESS_LINE.search(line)
        if match:
            counts[endpoint(match.group("method"), match.group("target"))] += 1
    return RequestCounts("server access log", dict(counts))


# --------------------------------------------------------------------------------------------
# Backends


@dataclass
class Backend:
    """Where scripts log to. `kind` is "server" or "sqlite"."""

    kind: str
    tracking_uri: str
    root: Path
    access_log: Optional[Path] = None
    _names: Iterator[int] = field(default_factory=itertools.count)
    _cache: dict[str, Outcome] = field(default_factory=dict)

    def new_experiment_name(self, label: str) -> str:
        return f"{label}-{next(self._names)}-{uuid.uuid4().hex[:8]}"

    def run(self, script: Path, label: str = "", *, reuse: bool = True) -> Outcome:
        """Run `script` (a copy, in its own working directory) against a fresh experiment and
        snapshot what it stored. With `reuse`, byte-identical scripts run once per backend."""
        data = script.read_bytes()
        key = f"{script.name}:{hashlib.sha256(data).hexdigest()}"
        if reuse and key in self._cache:
            return self._cache[key]
        name = self.new_experiment_name(label or script.stem)
        workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.root))
        copy = workdir / script.name
        copy.write_bytes(data)
        cwd = workdir / "cwd"
        cwd.mkdir()
        run = run_script(copy, self.tracking_uri, name, cwd, access_log=self.access_log)
        outcome = Outcome(run=run, snapshot=snapshot(self.tracking_uri, name))
        if reuse:
            self._cache[key] = outcome
        return outcome


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without any MLFLOW_* setting of the developer's shell, and with MLflow's
    usage telemetry off (3.x fetches its config from the internet on first use)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    env.update(extra)
    return env


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group led by `proc` (mlflow server, uvicorn and its workers), then
    SIGKILL whatever is left."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:  # the leader is gone; make sure its children are too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        return


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, stderr: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = stderr.read_text(errors="replace")[-3000:]
            raise HarnessError(f"mlflow server exited with {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # URLError, refused, reset, timed out: not up yet
            pass
        time.sleep(0.1)
    raise HarnessError(f"mlflow server at {url} did not answer /health within {timeout:.0f} s")


@contextlib.contextmanager
def mlflow_server(
    root: Path, workers: int = 1, timeout: float = SERVER_STARTUP_TIMEOUT
) -> Iterator[Backend]:
    """A real `mlflow server` with a sqlite store under `root`, stopped on exit."""
    root.mkdir(parents=True, exist_ok=True)
    access_log, stderr = root / "server.out", root / "server.err"
    for attempt in range(3):  # the free port can be taken before the server binds it
        port = free_port()
        cmd = [
            str(MLFLOW),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        env = _clean_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        with access_log.open("ab") as out, stderr.open("ab") as err:
            proc = subprocess.Popen(
                cmd, cwd=root, stdout=out, stderr=err, env=env, start_new_session=True
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(proc, url, stderr, timeout)
        except HarnessError:
            _stop_group(proc)
            if attempt == 2 or "address already in use" not in stderr.read_text().lower():
                raise
            continue
        try:
            yield Backend("server", url, root, access_log=access_log)
        finally:
            _stop_group(proc)
        return


@contextlib.contextmanager
def sqlite_backend(root: Path) -> Iterator[Backend]:
    """A plain `sqlite:///` tracking URI; the database is created (migrated) up front."""
    from mlflow import MlflowClient

    root.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{root / 'tracking.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()
    yield Backend("sqlite", uri, root)


# --------------------------------------------------------------------------------------------
# Running a script


@dataclass
class ScriptRun:
    script: Path
    experiment_name: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    requests: RequestCounts  # the backend's count: server access log, or store calls
    client_requests: RequestCounts  # counted in the script's process (HTTP or store calls)
    foreign_requests: dict[str, int]  # HTTP requests to anything but the tracking server

    def failure(self) -> str:
        return (
            f"{self.script} exited with {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n"
            f"--- stderr\n{self.stderr[-5000:]}"
        )


def run_script(
    path: Path,
    tracking_uri: str,
    experiment_name: str,
    cwd: Path,
    *,
    access_log: Optional[Path] = None,
    timeout: float = SCRIPT_TIMEOUT,
) -> ScriptRun:
    """Run `path` with the venv's Python in `cwd`, its fluent runs going to `experiment_name`
    (MLFLOW_EXPERIMENT_NAME), and count the tracking requests it makes. With `access_log` (a
    server's), the server's count is the one reported in `requests`."""
    with tempfile.TemporaryDirectory(prefix="mlflow-harness-") as tmp:
        site_dir, counts_dir = Path(tmp, "site"), Path(tmp, "counts")
        site_dir.mkdir()
        counts_dir.mkdir()
        (site_dir / "sitecustomize.py").write_text(_sitecustomize_source(), encoding="utf-8")
        pythonpath = os.pathsep.join(filter(None, [str(site_dir), os.environ.get("PYTHONPATH")]))
        env = _clean_env(
            MLFLOW_TRACKING_URI=tracking_uri,
            MLFLOW_EXPERIMENT_NAME=experiment_name,
            PYTHONPATH=pythonpath,
            PYTHONHASHSEED="0",
            PYTHONDONTWRITEBYTECODE="1",
            **{COUNTS_ENV: str(counts_dir)},
        )
        start_offset = access_log.stat().st_size if access_log else 0
        started = time.monotonic()
        try:
            result = subprocess.run(
                [sys.executable, str(path)],
                cwd=cwd,
                env=env,
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as error:
            raise HarnessError(f"{path} did not finish within {timeout:.0f} s") from error
        seconds = time.monotonic() - started
        client, foreign = _read_client_counts(counts_dir, tracking_uri)
    requests = _read_access_log(access_log, start_offset) if access_log else client
    return ScriptRun(
        script=path,
        experiment_name=experiment_name,
        returncode=result.returncode,
        stdout=result.stdout.decode("utf-8", "replace"),
        stderr=result.stderr.decode("utf-8", "replace"),
        seconds=seconds,
        requests=requests,
        client_requests=client,
        foreign_requests=foreign,
    )


# --------------------------------------------------------------------------------------------
# Reading back what was stored


class RunData(TypedDict):
    status: str
    parent: Optional[str]  # the key of the parent run, for nested runs
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, list[tuple[float, Any]]]  # key -> [(step, value)], value "nan" for NaN
    artifacts: list[tuple[str, Optional[int]]]  # (path, size in bytes)


Snapshot = dict[str, RunData]  # run key -> what is stored


def is_generated_run_name(name: str) -> bool:
    """Whether `name` has the form MLflow gives unnamed runs: `<predicate>-<noun>-<int>`,
    cut to 20 characters (mlflow.utils.name_utils._generate_random_name)."""
    from mlflow.utils import name_utils

    try:
        predicates = {p.lower() for p in name_utils._GENERATOR_PREDICATES}
        nouns = {n.lower() for n in name_utils._GENERATOR_NOUNS}
    except AttributeError:  # a future MLflow: fall back to the shape alone
        return re.fullmatch(r"[a-z]+-[a-z]*-?\d*", name) is not None
    parts = name.split("-")
    if len(parts) != 3 or parts[0] not in predicates:
        return False
    truncated = len(name) == 20
    noun_ok = parts[1] in nouns or (truncated and any(n.startswith(parts[1]) for n in nouns))
    return noun_ok and (parts[2].isdigit() or (truncated and parts[2] == ""))


def _value(value: float) -> Any:
    return "nan" if math.isnan(value) else value


def _artifacts(client: Any, run_id: str, path: Optional[str] = None) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for info in client.list_artifacts(run_id, path):
        if info.is_dir:
            found += _artifacts(client, run_id, info.path)
        else:
            found.append((info.path, info.file_size))
    return sorted(found)


def snapshot(tracking_uri: str, experiment_name: str) -> Snapshot:
    """Everything stored for the runs of `experiment_name`, comparable with `==`."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return {}
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment.experiment_id],
            run_view_type=ViewType.ALL,
            max_results=1000,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs += page
        token = page.token
        if not token:
            break
    runs.sort(key=lambda r: r.info.start_time or 0)  # stable: keeps the server's tie order

    keys: dict[str, str] = {}
    seen: Counter[str] = Counter()
    unnamed = 0
    for run in runs:
        name = run.info.run_name or ""
        if name and not is_generated_run_name(name):
            seen[name] += 1
            keys[run.info.run_id] = name if seen[name] == 1 else f"{name} #{seen[name]}"
        else:
            unnamed += 1
            keys[run.info.run_id] = f"<unnamed run #{unnamed}>"

    def stable(value: str) -> str:
        # Run ids are random: a param or tag that holds one names the run instead.
        for run_id, key in keys.items():
            value = value.replace(run_id, f"<run id of {key}>")
        return value

    result: Snapshot = {}
    for run in runs:
        run_id = run.info.run_id
        metrics = {}
        for key in sorted(run.data.metrics):
            history = client.get_metric_history(run_id, key)
            metrics[key] = sorted((m.step, _value(m.value)) for m in history)
        parent = run.data.tags.get("mlflow.parentRunId")
        tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
        result[keys[run_id]] = RunData(
            status=run.info.status,
            parent=keys.get(parent, parent) if parent else None,
            params={k: stable(v) for k, v in sorted(run.data.params.items())},
            tags={k: stable(v) for k, v in sorted(tags.items())},
            metrics=metrics,
            artifacts=_artifacts(client, run_id),
        )
    return result


# --------------------------------------------------------------------------------------------
# Original against fixed


@dataclass
class Outcome:
    run: ScriptRun
    snapshot: Snapshot


@dataclass
class Comparison:
    backend: str
    original: Outcome
    fixed: Outcome

    @property
    def original_requests(self) -> int:
        return self.original.run.requests.total

    @property
    def fixed_requests(self) -> int:
        return self.fixed.run.requests.total

    @property
    def ratio(self) -> float:
        return self.fixed_requests / self.original_requests if self.original_requests else 1.0

    def summary(self) -> str:
        return (
            f"{self.backend}: requests {self.original_requests} -> {self.fixed_requests} "
            f"(ratio {self.ratio:.2f}), {self.original.run.seconds:.1f} s -> "
            f"{self.fixed.run.seconds:.1f} s"
        )

    def describe(self) -> str:
        return (
            f"{self.summary()}\n  original: {self.original.run.requests}\n"
            f"  fixed:    {self.fixed.run.requests}"
        )


def compare(original_script: Path, fixed_script: Path, backend: Backend) -> Comparison:
    """Run both scripts against `backend` (each into its own fresh experiment) and return
    both snapshots and request counts. A byte-identical script is run once per backend."""
    return Comparison(
        backend=backend.kind,
        original=backend.run(original_script, f"{original_script.stem}-original"),
        fixed=backend.run(fixed_script, f"{fixed_script.stem}-fixed"),
    )


def compare_all(
    original_script: Path, fixed_script: Path, backends: Sequence[Backend]
) -> dict[str, Comparison]:
    """`compare` on every backend, the backends concurrently (a script run is mostly one busy
    core). Runs on the same backend stay one after another, which keeps the server's access
    log attributable to one script at a time."""
    with ThreadPoolExecutor(max_workers=len(backends)) as pool:
        futures = {b.kind: pool.submit(compare, original_script, fixed_script, b) for b in backends}
        return {kind: future.result() for kind, future in futures.items()}


def snapshot_json(value: Snapshot) -> str:
    """A readable dump of a snapshot, for failure messages."""
    return json.dumps(value, indent=1, sort_keys=True, default=str)


def copy_script(source: Path, directory: Path, name: Optional[str] = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (name or source.name)
    shutil.copyfile(source, target)
    return target
