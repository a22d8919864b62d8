"""`mlflow-lint profile` measures what MLflow really sends, checked against the other side.

Real programs (every rule's flagged example and every script in tests/scripts/) run under
`profile` against
- a real `mlflow server` (tests/mlflow_harness.py starts it), reached through a counting proxy
  written here that records every request (method, path, and the metric, param and tag keys in
  its body): the profile's total and per-endpoint counts must equal what the proxy forwarded
  and what the server's own access log lists; and a line whose source names a key that no
  other line names must have made exactly the requests the proxy saw carrying that key;
- a local `sqlite:` tracking URI, with the harness's independent counter of store calls loaded
  into the same process (its sitecustomize.py): the profile's store operations must equal its
  count, and a line logging a metric key of its own must have made one call per point stored.

Then: the engine's per-iteration estimate (`check --statistics`), evaluated at the loop sizes
the programs are written with, equals the calls measured in each loop nest, and the profile
measures those sizes; a program fixed with `mlflow-lint fix --unsafe-fixes` makes exactly the
requests the profile of the original said it would; async logging, threads and child processes
are credited (or reported) as docs/profile.md says.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import textwrap
import threading
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

import pytest
from conftest import MLFLOW_LINT, RULES_DIR, run_cli
from mlflow_harness import (
    COUNTS_ENV,
    Backend,
    _clean_env,
    _read_access_log,
    _read_client_counts,
    _sitecustomize_source,
    endpoint,
    mlflow_server,
    snapshot,
    sqlite_backend,
)

from mlflow_lint import estimate
from mlflow_lint.config import build_settings
from mlflow_lint.profile.probes import mlflow_version

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
# `mlflow server` logs one line per request since MLflow 3 (uvicorn); 2.x (gunicorn) does not,
# and there the counting proxy alone is the server's side.
ACCESS_LOG = mlflow_version()[1] >= (3,)
PROGRAMS = [
    *sorted(p for p in RULES_DIR.glob("MLF*/flagged.py")),
    *sorted(p for p in SCRIPTS_DIR.glob("*.py") if not p.name.startswith("_")),
]


def program_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


# Endpoints whose request body names the metric, param or tag keys it sends.
KEYED = ("runs/log-metric", "runs/log-parameter", "runs/set-tag", "runs/log-batch")
_LITERAL = re.compile(r"""(?<![\w])[rbuf]?["']([^"'{}]+)["']""")


# --------------------------------------------------------------------------------------------
# A counting proxy in front of the tracking server


@dataclass(frozen=True)
class Seen:
    endpoint: str
    keys: tuple[str, ...]


class CountingProxy:
    """Forwards every request to `upstream` unchanged and records it."""

    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                assert "chunked" not in (self.headers.get("Transfer-Encoding") or "")
                body = self.rfile.read(length) if length else b""
                proxy.record(self.command, self.path, body)
                upstream = http.client.HTTPConnection(proxy.host, proxy.port, timeout=120)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("connection",)
                }
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def record(self, method: str, target: str, body: bytes) -> None:
        keys: list[str] = []
        seen = endpoint(method, target)
        if body and seen.endswith(KEYED):
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            if isinstance(payload, dict):
                if isinstance(payload.get("key"), str):
                    keys.append(payload["key"])
                for kind in ("metrics", "params", "tags"):
                    keys += [i["key"] for i in payload.get(kind) or () if isinstance(i, dict)]
        with self._lock:
            self.seen.append(Seen(seen, tuple(keys)))

    def mark(self) -> int:
        with self._lock:
            return len(self.seen)

    def since(self, mark: int) -> list[Seen]:
        with self._lock:
            return self.seen[mark:]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------------------------
# Running a program under `profile`


@dataclass
class Profiled:
    program: Path
    returncode: int
    output: str
    doc: dict[str, Any]
    experiment: str
    proxied: list[Seen] = field(default_factory=list)
    access_log: Counter[str] = field(default_factory=Counter)
    store_counts: dict[str, int] = field(default_factory=dict)

    def lines(self) -> dict[int, dict[str, Any]]:
        return {x["line"]: x for x in self.doc["lines"] if x["path"] == self.program.name}


def profile(
    program: Path,
    tracking_uri: str,
    workdir: Path,
    *,
    access_log: Optional[Path] = None,
    proxy: Optional[CountingProxy] = None,
    count_store_calls: bool = False,
    env: Optional[dict[str, str]] = None,
    lint_args: tuple[str, ...] = (),
) -> Profiled:
    """Run a copy of `program` under `mlflow-lint profile` in `workdir` (`lint_args`: the
    rule selection, as `check` takes it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / program.name
    shutil.copyfile(program, copy)
    experiment = f"{program.parent.name}-{program.stem}-{uuid.uuid4().hex[:8]}"
    out = workdir / "profile.json"
    extra = dict(env or {})
    counts = workdir / "counts"
    if count_store_calls:
        site = workdir / "site"
        site.mkdir()
        counts.mkdir()
        (site / "sitecustomize.py").write_text(_sitecustomize_source(), encoding="utf-8")
        extra.update(PYTHONPATH=str(site), **{COUNTS_ENV: str(counts)})
    full_env = _clean_env(
        MLFLOW_TRACKING_URI=tracking_uri,
        MLFLOW_EXPERIMENT_NAME=experiment,
        PYTHONDONTWRITEBYTECODE="1",
        **extra,
    )
    offset = access_log.stat().st_size if access_log else 0
    mark = proxy.mark() if proxy else 0
    result = subprocess.run(
        [str(MLFLOW_LINT), "profile", *lint_args, "--format", "json", "-o", str(out), program.name],
        cwd=workdir,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert out.exists(), output
    profiled = Profiled(
        program=program,
        returncode=result.returncode,
        output=output,
        doc=json.loads(out.read_text(encoding="utf-8")),
        experiment=experiment,
    )
    if proxy:
        profiled.proxied = proxy.since(mark)
    if access_log:
        profiled.access_log = Counter(_read_access_log(access_log, offset).by_endpoint)
    if count_store_calls:
        store, _ = _read_client_counts(counts, tracking_uri)
        profiled.store_counts = store.by_endpoint
    return profiled


# --------------------------------------------------------------------------------------------
# Backends


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with mlflow_server(tmp_path_factory.mktemp("profile-server")) as backend:
        yield backend


@pytest.fixture(scope="module")
def proxy(server: Backend) -> Iterator[CountingProxy]:
    counting = CountingProxy(server.tracking_uri)
    yield counting
    counting.close()


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with sqlite_backend(tmp_path_factory.mktemp("profile-sqlite")) as backend:
        yield backend


_server_runs: dict[Path, Profiled] = {}


def on_server(
    program: Path, server: Backend, proxy: CountingProxy, tmp_path: Path, **kwargs: Any
) -> Profiled:
    """Profile `program` through the proxy; a rule example or script is profiled once."""
    if program in _server_runs and not kwargs:
        return _server_runs[program]
    run = profile(
        program, proxy.url, tmp_path / "server", access_log=server.access_log, proxy=proxy, **kwargs
    )
    if not kwargs and program in PROGRAMS:
        _server_runs[program] = run
    return run


# --------------------------------------------------------------------------------------------
# Per-line checks by key


def own_keys(run: Profiled, keys_seen: set[str]) -> dict[int, str]:
    """Lines whose source names, as a string literal, a key that requests carried and that no
    other line with requests names."""
    named: dict[str, set[int]] = {}
    for number, line in run.lines().items():
        if not line["requests"]:
            continue
        for literal in set(_LITERAL.findall(line["source"])):
            if literal in keys_seen:
                named.setdefault(literal, set()).add(number)
    return {next(iter(lines)): key for key, lines in named.items() if len(lines) == 1}


def keyed_requests(line: dict[str, Any]) -> int:
    return sum(n for e, n in line["endpoints"].items() if e.endswith(KEYED))


# --------------------------------------------------------------------------------------------
# The tests


@pytest.mark.server
@pytest.mark.parametrize("program", PROGRAMS, ids=program_id)
def test_profile_counts_what_the_server_saw(
    program: Path, server: Backend, proxy: CountingProxy, tmp_path: Path
) -> None:
    run = on_server(program, server, proxy, tmp_path)
    doc = run.doc
    assert run.returncode == doc["program"]["exit_code"], run.output
    assert doc["warnings"] == [], doc["warnings"]
    seen = Counter(s.endpoint for s in run.proxied)
    if ACCESS_LOG:
        assert seen == run.access_log, "the proxy forwarded what the server logged"
    measured = Counter(doc["totals"]["endpoints"])
    if doc["child_processes"]:
        # requests of child processes are not followed: the server sees more
        assert sum(measured.values()) <= sum(seen.values())
        return
    assert measured == seen, run.output
    assert doc["totals"]["requests"] == len(run.proxied)
    # per line: the requests carrying a key only that line names
    keys_seen = {k for s in run.proxied for k in s.keys}
    checked = own_keys(run, keys_seen)
    lines = run.lines()
    for number, key in checked.items():
        by_proxy = sum(1 for s in run.proxied if key in s.keys)
        assert keyed_requests(lines[number]) == by_proxy, (number, key, lines[number])


def test_the_per_line_check_is_not_vacuous(
    server: Backend, proxy: CountingProxy, tmp_path: Path
) -> None:
    checked = 0
    for program in (RULES_DIR / "MLF101" / "flagged.py", SCRIPTS_DIR / "epochs_batches.py"):
        run = on_server(program, server, proxy, tmp_path / program.stem)
        checked += len(own_keys(run, {k for s in run.proxied for k in s.keys}))
    assert checked >= 6  # train_loss, lr, epoch_loss, eval_loss; batch_loss, epoch_loss, ...


@pytest.mark.parametrize("program", PROGRAMS, ids=program_id)
def test_profile_counts_what_the_store_did(program: Path, sqlite: Backend, tmp_path: Path) -> None:
    run = profile(program, sqlite.tracking_uri, tmp_path, count_store_calls=True)
    doc = run.doc
    assert run.returncode == doc["program"]["exit_code"], run.output
    measured = {
        e: n for e, n in doc["totals"]["endpoints"].items() if e.startswith("SqlAlchemyStore.")
    }
    counted = {e: n for e, n in run.store_counts.items() if e.startswith("SqlAlchemyStore.")}
    if doc["child_processes"]:
        return  # MLF401's workers log from their own processes, to their own database
    assert measured == counted, run.output
    uploads = {e: n for e, n in doc["totals"]["endpoints"].items() if ".log_artifact" in e}
    assert uploads == {e: n for e, n in run.store_counts.items() if ".log_artifact" in e}
    # per line: one call per stored point of a metric only that line logs
    stored = snapshot(sqlite.tracking_uri, run.experiment)
    points: Counter[str] = Counter()
    for data in stored.values():
        for key, history in data["metrics"].items():
            points[key] += len(history)
    lines = run.lines()
    for number, key in own_keys(run, set(points)).items():
        line = lines[number]
        if set(line["endpoints"]) == {"SqlAlchemyStore.log_metric"}:
            assert line["calls"] == points[key], (number, key, line)


# Loop sizes as the programs are written: label path (the loops' labels, as context.loop_label
# names them, outer to inner) -> iterations of the innermost loop of the path; "LINE:path"
# for a loop whose label another loop of the program shares with a different size.
KNOWN_SIZES: dict[str, dict[str, int]] = {
    # the tracker's 3 grad norms; 3 epochs of 4 batches; 3 evaluation steps
    "MLF101/flagged": {"step": 3, "epoch": 3, "epoch x batch": 12, "while": 3},
    "MLF102/flagged": {"epoch": 3},
    # 3 flattened config entries; 3 epochs of 3 class scores and 2 tags; the copy's loop over
    # the 3 params logged; the writer's 2 params, and its 2 metrics in each of 3 steps
    "MLF105/flagged": {
        "name": 3,
        "epoch": 3,
        "epoch x label": 9,
        "epoch x tag": 6,
        "key": 3,
        "45:key": 2,
        "49:key": 6,
    },
    "scripts/epochs_batches": {"epoch": 4, "epoch x batch": 24},
    "scripts/consecutive_metrics": {"epoch": 8},
    "scripts/dict_loops": {"name": 5, "key": 3, "epoch": 6, "epoch x metric": 18, "k": 2},
    "scripts/metric_no_step": {"iteration": 6},
    "scripts/aliases": {"seed": 2, "seed x step": 10},
    "scripts/hyperparams": {"epoch": 5, "epoch x batch": 10},
    # a run per seed, opened in the loop: its requests still repeat with the seeds
    "scripts/seed_runs": {"seed": 2, "seed x step": 10},
}


@pytest.mark.server
@pytest.mark.parametrize("name", sorted(KNOWN_SIZES))
def test_the_statistics_estimate_matches_the_measured_calls(
    name: str, server: Backend, proxy: CountingProxy, tmp_path: Path
) -> None:
    program = next(p for p in PROGRAMS if program_id(p) == name)
    sizes = KNOWN_SIZES[name]
    run = on_server(program, server, proxy, tmp_path)
    nests = {x["line"]: x for x in run.doc["loop_nests"]}
    estimates = estimate.estimate_file(str(program), build_settings(None))
    assert estimates, name
    for nest in estimates:
        measured = nests[nest.line]

        def size(path: str, line: int = nest.line) -> int:
            return sizes.get(f"{line}:{path}", sizes[path])

        expected = sum(calls * size(" x ".join(labels)) for labels, calls in nest.now.items())
        # and the calls next to the loop that its fixes merge, once each time it runs
        outside = measured["outside_the_loops"]
        expected += outside["now"] * outside["times_the_loop_ran"]
        assert measured["measured"]["calls"] == expected, (name, nest.line, measured)
        assert measured["estimated_calls_now"] == expected
        for label, iterations in measured["iterations"].items():
            if label in sizes:
                assert iterations == size(label), (name, label, measured)


FIXABLE = [
    RULES_DIR / "MLF101" / "flagged.py",
    RULES_DIR / "MLF102" / "flagged.py",
    RULES_DIR / "MLF103" / "flagged.py",
    RULES_DIR / "MLF104" / "flagged.py",
    RULES_DIR / "MLF105" / "flagged.py",
    RULES_DIR / "MLF107" / "flagged.py",
    *(
        SCRIPTS_DIR / f"{name}.py"
        for name in (
            "aliases",
            "artifacts_loop",
            "consecutive_metrics",
            "dict_loops",
            "epochs_batches",
            "hyperparams",
            "metric_no_step",
            "seed_runs",
        )
    ),
]


@pytest.mark.server
@pytest.mark.parametrize("program", FIXABLE, ids=program_id)
def test_the_fixed_program_makes_the_requests_the_profile_promised(
    program: Path, server: Backend, proxy: CountingProxy, tmp_path: Path
) -> None:
    # every rule, opt-in ones too (MLF103's merges): the profile promises what `fix` does
    every = ("--select", "ALL")
    original = on_server(program, server, proxy, tmp_path / "original", lint_args=every)
    fixed_source = tmp_path / "fixed" / program.name
    fixed_source.parent.mkdir(parents=True)
    shutil.copyfile(program, fixed_source)
    result = run_cli("fix", *every, "--unsafe-fixes", "--jobs", "1", str(fixed_source))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    fixed = profile(
        fixed_source, proxy.url, tmp_path / "fixed-run", access_log=server.access_log, proxy=proxy
    )
    fixes = original.doc["fixes"]
    # no promise is a promise too: MLF107's `log_artifacts` still uploads file by file to a
    # tracking server
    saving = sum(f["measured"]["requests"] - f["estimated_requests_after"] for f in fixes)
    assert len(fixed.proxied) == len(original.proxied) - saving, (
        json.dumps(fixes, indent=1),
        fixed.output,
    )


@pytest.mark.server
def test_a_merged_call_makes_one_request_where_there_were_n(
    server: Backend, proxy: CountingProxy, tmp_path: Path
) -> None:
    """MLF102's own example: the four metrics of each epoch (lines 29-34) are four requests
    per epoch, and the export tool's two client calls per epoch (lines 18-19) two per epoch;
    the fixes' merged calls (`log_metrics` in the safe twin, `MlflowClient.log_batch` in the
    unsafe one) are one request where there were several, as the profile promised."""
    original = on_server(RULES_DIR / "MLF102" / "flagged.py", server, proxy, tmp_path)
    promises = {f["line"]: f for f in original.doc["fixes"]}
    lines = original.lines()
    epochs = 3  # the example's EPOCHS
    # (where the promise is, its kind, the calls it merges, how often they run)
    for first, kind, group, times in (
        (24, "loop", (29, 30, 33, 34), epochs),  # the loops that hold the groups
        (17, "loop", (18, 19), epochs),
    ):
        promise = promises[first]
        assert (promise["kind"], promise["codes"]) == (kind, ["MLF102"])
        assert promise["measured"]["requests"] == len(group) * times
        assert promise["estimated_requests_after"] == times
        assert [lines[n]["requests"] for n in group] == [times] * len(group)
    for twin, line, call, times in (
        ("flagged.fixed.py", 30, "mlflow.log_metrics(", epochs),
        ("flagged.unsafe.fixed.py", 22, "self.client.log_batch(", epochs),
    ):
        fixed = on_server(RULES_DIR / "MLF102" / twin, server, proxy, tmp_path / twin)
        merged = fixed.lines()[line]
        assert merged["source"] == call
        assert merged["requests"] == times
        assert merged["endpoints"] == {"POST /api/2.0/mlflow/runs/log-batch": times}


ASYNC_PROGRAM = """\
import mlflow


def log_validation(step):
    mlflow.log_metric("val", step / 10, step=step, synchronous=False)


with mlflow.start_run():
    for step in range(12):
        mlflow.log_metric("train", step, step=step, synchronous=False)
        if step % 3 == 0:
            log_validation(step)
"""


@pytest.mark.server
@pytest.mark.parametrize("buffering", [None, "1"])
def test_async_logging_is_credited_to_the_lines_that_queued_it(
    buffering: Optional[str], server: Backend, proxy: CountingProxy, tmp_path: Path
) -> None:
    program = tmp_path / "async_logging.py"
    program.write_text(ASYNC_PROGRAM, encoding="utf-8")
    env = {"MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS": buffering} if buffering else {}
    run = on_server(program, server, proxy, tmp_path, env=env)
    doc = run.doc
    assert Counter(doc["totals"]["endpoints"]) == Counter(s.endpoint for s in run.proxied)
    lines = run.lines()
    assert (lines[10]["queued"], lines[5]["queued"]) == (12, 4)
    assert lines[5]["callers"] == [
        {"path": program.name, "line": 12, "requests": lines[5]["requests"]}
    ]
    batches = [s for s in run.proxied if s.endpoint.endswith("runs/log-batch")]
    credited = lines[10]["requests"] + lines[5]["requests"]
    assert credited == len(batches)  # every async request is credited to a line that queued it
    assert lines[10]["origins"] == {"queued": lines[10]["requests"]}
    assert lines[10]["wait_seconds"] == 0  # the training thread never waited on them
    if buffering is None:  # one request per queued call
        assert lines[10]["requests"] == sum(1 for s in batches if s.keys == ("train",)) == 12
        assert lines[5]["requests"] == sum(1 for s in batches if s.keys == ("val",)) == 4
    else:  # merged: fewer requests than calls, none lost
        assert len(batches) < 16
        assert sum(len(s.keys) for s in batches) == 16
        assert lines[10]["queued_never_sent"] == lines[5]["queued_never_sent"] == 0


THREADS_PROGRAM = """\
import threading
from concurrent.futures import ThreadPoolExecutor

import mlflow

with mlflow.start_run() as run:
    client = mlflow.MlflowClient()
    run_id = run.info.run_id

    def evaluate(shard):
        client.log_metric(run_id, f"shard_{shard}", shard / 10)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(evaluate, range(4)))
        pool.submit(client.set_tag, run_id, "submitted", "yes").result()
    worker = threading.Thread(target=client.log_param, args=(run_id, "threaded", 1))
    worker.start()
    worker.join()
"""


@pytest.mark.server
def test_worker_threads_are_followed(server: Backend, proxy: CountingProxy, tmp_path: Path) -> None:
    program = tmp_path / "threads.py"
    program.write_text(THREADS_PROGRAM, encoding="utf-8")
    run = on_server(program, server, proxy, tmp_path, env={})
    assert Counter(run.doc["totals"]["endpoints"]) == Counter(s.endpoint for s in run.proxied)
    lines = run.lines()
    # the worker's own line, in the pool's threads
    assert lines[11]["requests"] == 4 and lines[11]["origins"] == {"call": 4}
    # an MLflow method handed straight to a pool or a thread: the line that handed it over
    assert lines[15]["requests"] == 1 and lines[15]["origins"] == {"thread": 1}
    assert lines[17]["requests"] == 1 and lines[17]["origins"] == {"thread": 1}
    assert run.doc["unattributed"] == [] or all(
        u["label"].startswith("at exit") for u in run.doc["unattributed"]
    )


CHILDREN_PROGRAM = """\
from multiprocessing import get_context

import mlflow


def train(seed):
    with mlflow.start_run(run_name=f"seed-{seed}"):
        mlflow.log_metric("loss", 1 / (seed + 1))


if __name__ == "__main__":
    mlflow.set_experiment(mlflow.get_experiment_by_name  # noqa
                          and __import__("os").environ["MLFLOW_EXPERIMENT_NAME"])
    with get_context("spawn").Pool(2) as pool:
        pool.map(train, range(3))
"""


@pytest.mark.server
def test_child_processes_are_reported_not_followed(
    server: Backend, proxy: CountingProxy, tmp_path: Path
) -> None:
    program = tmp_path / "children.py"
    program.write_text(CHILDREN_PROGRAM, encoding="utf-8")
    run = on_server(program, server, proxy, tmp_path, env={})
    assert run.returncode == 0, run.output
    children = run.doc["child_processes"]
    assert children == [{"path": "children.py", "line": 14, "how": "multiprocessing", "count": 2}]
    # the children's requests reached the server, and are not in the profile
    children_logged = sum(1 for s in run.proxied if s.keys == ("loss",))
    assert children_logged == 3
    assert "runs/log-metric" not in json.dumps(run.doc["totals"]["endpoints"])
    assert run.doc["totals"]["requests"] < len(run.proxied)
    text = run_cli(
        "profile",
        program.name,
        cwd=tmp_path / "server",
        env=_clean_env(MLFLOW_TRACKING_URI=proxy.url, MLFLOW_EXPERIMENT_NAME=run.experiment),
    )
    assert "Child processes (not followed: their requests are not counted):" in text.stdout
    assert "children.py:14  started 2 (multiprocessing)" in text.stdout


def test_the_report_names_the_server(tmp_path: Path, server: Backend, proxy: CountingProxy) -> None:
    program = tmp_path / "one.py"
    program.write_text(
        textwrap.dedent(
            """\
            import mlflow

            with mlflow.start_run():
                mlflow.log_param("a", 1)
            """
        ),
        encoding="utf-8",
    )
    run = on_server(program, server, proxy, tmp_path, env={})
    assert run.doc["mlflow"]["tracking_uri"] == proxy.url
    assert set(run.doc["mlflow"]["hosts"]) == {urllib.parse.urlsplit(proxy.url).netloc}
    assert run.doc["totals"]["bytes_sent"] > 0 and run.doc["totals"]["bytes_received"] > 0
    assert os.path.basename(run.doc["program"]["argv"][0]) == "one.py"


DOCS = Path(__file__).resolve().parent.parent / "docs" / "profile.md"
# What changes from one run to the next: times, sizes (request bodies carry timestamps and
# random losses), the share of the run, the server's port, MLflow's version.
_VOLATILE = [
    (re.compile(r"\d[\d,]*(\.\d+)? (ms|s)\b"), "<time>"),
    (re.compile(r"\d[\d,]*(\.\d+)? (B|KB|MB|GB)\b"), "<size>"),
    (re.compile(r"\(\d+% of the run\)"), "(<share> of the run)"),
    (re.compile(r"http://127\.0\.0\.1:\d+"), "<server>"),
    (re.compile(r"MLflow \d+\.\d+\.\d+\S*"), "MLflow <version>"),
]


def _normalized(report: str) -> list[str]:
    lines = []
    for line in report.strip().splitlines():
        for pattern, replacement in _VOLATILE:
            line = pattern.sub(replacement, line)
        lines.append(" ".join(line.split()))  # the columns' widths follow the numbers
    return lines


@pytest.mark.server
def test_the_worked_example_in_the_docs_is_what_the_command_prints(
    server: Backend, tmp_path: Path
) -> None:
    """docs/profile.md shows a real report against a tracking server: the same program,
    profiled against a real server now, prints the same report line for line (times, sizes
    and the server's port aside). Its fixed version makes the requests the page says."""
    page = DOCS.read_text(encoding="utf-8")
    program = page.split("```python\n", 1)[1].split("\n```", 1)[0] + "\n"
    shown = page.split("```text\n", 1)[1].split("\n```", 1)[0]
    (tmp_path / "train.py").write_text(program, encoding="utf-8")
    # the default experiment, as on the page: naming one would add its lookup
    env = _clean_env(MLFLOW_TRACKING_URI=server.tracking_uri)
    result = run_cli("profile", "train.py", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    report = result.stdout[result.stdout.index("mlflow-lint profile: ") :]
    assert _normalized(report) == _normalized(shown)
    # "The fixed program, profiled the same way, made 36 requests: 427 - 412 + 21."
    claim = re.search(r"made (\d+)\s+requests: (\d+) - (\d+) \+ (\d+)\.", page)
    assert claim is not None
    made, before, saved, after = (int(n) for n in claim.groups())
    assert made == before - saved + after
    fix = run_cli("fix", "--unsafe-fixes", "train.py", cwd=tmp_path, env=env)
    assert fix.returncode in (0, 1), fix.stdout + fix.stderr
    out = tmp_path / "fixed.json"
    fixed = run_cli(
        "profile", "--format", "json", "-o", str(out), "train.py", cwd=tmp_path, env=env
    )
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["totals"]["requests"] == made
