"""Instrument MLflow at its narrow waists, for the duration of one run.

Every tracking request MLflow's client makes passes through one of these:

- HTTP (an `http://` / `https://` / `databricks` tracking URI, and artifacts proxied by the
  server): `mlflow.utils.rest_utils.http_request`, the REST helper every REST store and the
  HTTP artifact repository call (`call_endpoint` calls it too), and
  `mlflow.utils.request_utils.cloud_storage_http_request` (uploads to and downloads from
  presigned cloud-storage URLs). One call is one request (retries are counted apart).
- Local stores (`sqlite:`, a database, `file:`): the methods of the tracking and model registry
  stores, the subclasses of `mlflow.store.tracking.abstract_store.AbstractStore` and
  `mlflow.store.model_registry.abstract_store.AbstractStore` (REST stores excepted). The
  outermost store call is one operation, one database transaction.
- Artifacts: the upload, download, listing and deletion methods of the subclasses of
  `mlflow.store.artifact.artifact_repo.ArtifactRepository`, counted where nothing below them
  was (an HTTP repository's PUT is counted as an HTTP request; a local copy, an S3 or GCS
  upload by the repository itself).

The async logging queues' items (`RunBatch`, `RunArtifact`) are tagged with the line that
queued them; `threading.Thread.start` and `ThreadPoolExecutor.submit` pass the line that
started a thread or submitted a task to it; child processes (`multiprocessing`, `os.fork`,
`subprocess` started by the user's code) are counted and not followed.

MLflow's modules are patched as they are imported (an import hook, so importing the program's
MLflow is left to the program and nothing is imported early), and restored when the run ends.
The modules that bound a patched function by name (`from mlflow.utils.rest_utils import
http_request`) are found and restored too. A wrapper that is still reachable after the run (a
bound method kept by a store) passes calls straight through.

Verified with MLflow 2.16.2, 3.17.2 and 3.18.0 (see docs/profile.md); older versions are
refused, since the names above are not all there.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from mlflow_lint.profile.recorder import TAG, Origin, Recorder, Request

MIN_VERSION = (2, 16, 2)
# The newest major version checked; a later one is refused until it is verified.
MAX_MAJOR = 3
WRAPPED = "__mlflow_lint_wrapped__"
_MISSING = object()

HTTP, STORE, ARTIFACT = "http", "store", "artifact"

# Store methods that never reach the database: the async-logging plumbing.
_NOT_REQUESTS = re.compile(r"async")
# Artifact repository methods that move data: uploads, downloads, listings, deletions.
ARTIFACT_METHODS = (
    "log_artifact",
    "log_artifacts",
    "_upload_file",
    "list_artifacts",
    "download_artifacts",
    "_download_file",
    "delete_artifacts",
)
_UPLOAD_PARAMS = ("local_file", "local_path", "local_dir")
_ARTIFACT_PATH = re.compile(r"^(?P<prefix>.*/mlflow-artifacts/(?:artifacts|mpu/[a-z-]+))/.*$")


class ProfileError(Exception):
    """`profile` cannot run: one line for the user, exit 2."""


def mlflow_version() -> tuple[str, tuple[int, ...]]:
    """The installed MLflow's version, read from its version.py without importing it."""
    try:
        spec = importlib.util.find_spec("mlflow")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ProfileError(
            f"`mlflow-lint profile` needs MLflow installed where the program runs "
            f"({sys.executable}): pip install mlflow"
        )
    text = ""
    for location in spec.submodule_search_locations:
        try:
            with open(os.path.join(location, "version.py"), encoding="utf-8") as source:
                text = source.read()
            break
        except OSError:
            continue
    match = re.search(r"""^VERSION\s*=\s*["']([^"']+)["']""", text, re.MULTILINE)
    if match is None:
        raise ProfileError("cannot tell which MLflow version is installed (no mlflow/version.py)")
    version = match.group(1)
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:3])
    return version, numbers


def check_version() -> str:
    version, numbers = mlflow_version()
    if numbers < MIN_VERSION:
        raise ProfileError(
            f"`mlflow-lint profile` supports MLflow {'.'.join(map(str, MIN_VERSION))} and "
            f"later; this environment has MLflow {version}"
        )
    if numbers[:1] > (MAX_MAJOR,):
        raise ProfileError(
            f"`mlflow-lint profile` has not been verified with MLflow {version} (it supports "
            f"{'.'.join(map(str, MIN_VERSION))} to {MAX_MAJOR}.x); please report it"
        )
    return version


def _endpoint_path(endpoint: str) -> str:
    path = endpoint.split("?", 1)[0]
    match = _ARTIFACT_PATH.match(path)
    return match.group("prefix") + "/<path>" if match else path


def _arg(args: Sequence[Any], kwargs: dict[str, Any], index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _body_values(body: Any) -> int:
    """Metrics, params and tags in a REST request body."""
    if not isinstance(body, dict):
        return 0
    if "key" in body:
        return 1
    return sum(len(body[k]) for k in ("metrics", "params", "tags") if isinstance(body.get(k), list))


def _response_sizes(response: Any) -> tuple[int, int, int]:
    """(bytes sent, bytes received, retries) of a `requests.Response`."""
    sent = received = retries = 0
    try:
        request = response.request
        length = request.headers.get("Content-Length")
        if length is not None:
            sent = int(length)
        elif isinstance(request.body, (bytes, str)):
            sent = len(request.body)
        content = response.__dict__.get("_content")
        if isinstance(content, bytes):
            received = len(content)
        else:
            received = int(response.headers.get("Content-Length") or 0)
        history = getattr(getattr(response.raw, "retries", None), "history", None)
        retries = len(history) if history else 0
    except (AttributeError, TypeError, ValueError):
        pass
    return sent, received, retries


def _size(path: Any) -> int:
    """Bytes in a local file, or in the files under a directory."""
    if not isinstance(path, (str, os.PathLike)):
        return 0
    name = os.fspath(path)
    try:
        if os.path.isdir(name):
            total = 0
            for directory, _, files in os.walk(name):
                total += sum(os.path.getsize(os.path.join(directory, f)) for f in files)
            return total
        return os.path.getsize(name)
    except OSError:
        return 0


def _store_values(name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> int:
    if name in ("log_metric", "log_param", "set_tag"):
        return 1
    if name == "log_batch":
        items = [*args[2:], *kwargs.values()]
        return sum(len(item) for item in items if isinstance(item, (list, tuple)))
    return 0


def _all_subclasses(cls: type) -> list[type]:
    found: list[type] = []
    todo: list[type] = list(cls.__subclasses__())
    while todo:
        sub = todo.pop()
        if sub not in found:
            found.append(sub)
            todo.extend(sub.__subclasses__())
    return found


class _AfterImport(importlib.abc.MetaPathFinder):
    """Run a patch on a module right after it is executed, before anyone imports from it."""

    def __init__(self, patches: dict[str, Callable[[ModuleType], None]]) -> None:
        self.patches = patches

    def find_spec(
        self,
        fullname: str,
        path: Optional[Sequence[str]],
        target: Optional[ModuleType] = None,
    ) -> Optional[importlib.machinery.ModuleSpec]:
        patch = self.patches.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_and_patch(module: ModuleType) -> None:
            try:
                exec_module(module)
            finally:
                loader.__dict__.pop("exec_module", None)
            if module.__name__ == fullname:
                patch(module)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


class Probes:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.active = False
        self.instrumented: set[str] = set()  # what was patched, for the report
        self._restore: list[tuple[Any, str, Any]] = []
        self._functions: list[tuple[Callable[..., Any], Callable[..., Any]]] = []
        self._local = threading.local()
        self._finder: Optional[_AfterImport] = None

    # --- install and remove -------------------------------------------------------------------
    def install(self) -> None:
        self.active = True
        patches: dict[str, Callable[[ModuleType], None]] = {
            "mlflow.utils.rest_utils": self._patch_rest_utils,
            "mlflow.utils.request_utils": self._patch_request_utils,
            "mlflow.store.tracking.abstract_store": self._patch_store_module,
            "mlflow.store.model_registry.abstract_store": self._patch_store_module,
            "mlflow.store.artifact.artifact_repo": self._patch_artifact_module,
            "mlflow.utils.async_logging.run_batch": self._patch_queued("RunBatch"),
            "mlflow.utils.async_logging.run_artifact": self._patch_queued("RunArtifact"),
        }
        for name in list(patches):
            module = sys.modules.get(name)
            if module is not None:  # imported before the run (by a plugin, say)
                patches.pop(name)(module)
        self._finder = _AfterImport(patches)
        sys.meta_path.insert(0, self._finder)
        self._patch_threads()
        self._patch_processes()

    def uninstall(self) -> None:
        self.active = False
        if self._finder is not None and self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        for owner, name, previous in reversed(self._restore):
            if previous is _MISSING:
                if name in vars(owner):
                    delattr(owner, name)
            else:
                setattr(owner, name, previous)
        self._restore.clear()
        global _FORK_PROBES
        if _FORK_PROBES is self:
            _FORK_PROBES = None
        self._rebind(dict((w, o) for o, w in self._functions))

    def missing(self) -> list[str]:
        """The narrow waists the program imported but that could not be instrumented."""
        expected = {
            "mlflow.utils.rest_utils": "mlflow.utils.rest_utils.http_request",
            "mlflow.store.tracking.abstract_store": "tracking store",
            "mlflow.store.artifact.artifact_repo": "artifact repositories",
            "mlflow.utils.async_logging.run_batch": "async logging queue",
        }
        return [
            what
            for module, what in expected.items()
            if module in sys.modules and what not in self.instrumented
        ]

    def _set(self, owner: Any, name: str, value: Any) -> None:
        self._restore.append((owner, name, vars(owner).get(name, _MISSING)))
        setattr(owner, name, value)

    def _rebind(self, replacements: dict[Any, Any]) -> None:
        """Point every loaded MLflow module's name for a replaced function at its replacement
        (the modules that did `from mlflow.utils.rest_utils import http_request`)."""
        if not replacements:
            return
        by_id = {id(old): (old, new) for old, new in replacements.items()}
        for name, module in list(sys.modules.items()):
            if not (name == "mlflow" or name.startswith("mlflow.")) or module is None:
                continue
            namespace = getattr(module, "__dict__", None)
            if not namespace:
                continue
            for attribute, value in list(namespace.items()):
                found = by_id.get(id(value))
                if found is not None and found[0] is value:
                    namespace[attribute] = found[1]

    def _ops(self) -> list[list[Any]]:
        stack = getattr(self._local, "ops", None)
        if stack is None:
            stack = self._local.ops = []
        return stack

    # --- HTTP ----------------------------------------------------------------------------------
    def _patch_rest_utils(self, module: ModuleType) -> None:
        original = getattr(module, "http_request", None)
        if callable(original):
            self._replace_function(module, "http_request", self._http_wrapper(original, rest=True))
            self.instrumented.add("mlflow.utils.rest_utils.http_request")

    def _patch_request_utils(self, module: ModuleType) -> None:
        original = getattr(module, "cloud_storage_http_request", None)
        if callable(original):
            wrapper = self._http_wrapper(original, rest=False)
            self._replace_function(module, "cloud_storage_http_request", wrapper)
            self.instrumented.add("mlflow.utils.request_utils.cloud_storage_http_request")

    def _replace_function(self, module: ModuleType, name: str, wrapper: Callable[..., Any]) -> None:
        original = getattr(module, name)
        self._functions.append((original, wrapper))
        setattr(module, name, wrapper)
        self._rebind({original: wrapper})

    def _http_wrapper(self, original: Callable[..., Any], rest: bool) -> Callable[..., Any]:
        probes = self
        record = self.recorder.request

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not probes.active:
                return original(*args, **kwargs)
            stack = probes._ops()
            if any(op[0] == HTTP for op in stack):
                return original(*args, **kwargs)
            for op in stack:
                op[1] = True
            stack.append([HTTP, True])
            response = None
            error = False
            started = time.perf_counter()
            try:
                response = original(*args, **kwargs)
                return response
            except BaseException:
                error = True
                raise
            finally:
                seconds = time.perf_counter() - started
                stack.pop()
                with contextlib.suppress(Exception):  # never break the program over a count
                    record(
                        probes._describe_http(args, kwargs, rest, response, error, started, seconds)
                    )

        setattr(wrapper, WRAPPED, True)
        return wrapper

    @staticmethod
    def _describe_http(
        args: Sequence[Any],
        kwargs: dict[str, Any],
        rest: bool,
        response: Any,
        error: bool,
        started: float,
        seconds: float,
    ) -> Request:
        if rest:  # http_request(host_creds, endpoint, method, ...)
            creds = _arg(args, kwargs, 0, "host_creds")
            # an artifact repository's host holds the path to the run's artifacts
            base = urlsplit(str(getattr(creds, "host", "") or ""))
            host = base.netloc
            endpoint_ = str(_arg(args, kwargs, 1, "endpoint") or "")
            path = _endpoint_path(base.path.rstrip("/") + endpoint_)
            method = str(_arg(args, kwargs, 2, "method") or "").upper()
            endpoint = f"{method} {path}"
        else:  # cloud_storage_http_request(method, url, ...)
            method = str(_arg(args, kwargs, 0, "method") or "").upper()
            host = urlsplit(str(_arg(args, kwargs, 1, "url") or "")).netloc
            endpoint = f"{method} cloud storage ({host})"
        sent, received, retries = _response_sizes(response) if response is not None else (0, 0, 0)
        values = _body_values(kwargs.get("json"))
        return Request(endpoint, started, seconds, host, sent, received, error, retries, values)

    # --- stores --------------------------------------------------------------------------------
    def _patch_store_module(self, module: ModuleType) -> None:
        base = getattr(module, "AbstractStore", None)
        if not isinstance(base, type):
            return
        names = tuple(
            name
            for name, value in vars(base).items()
            if not name.startswith("_")
            and inspect.isfunction(value)
            and not _NOT_REQUESTS.search(name)
        )
        kind = "registry" if "model_registry" in module.__name__ else "tracking"

        def wrap(cls: type) -> None:
            if any("RestStore" in c.__name__ for c in cls.__mro__):
                return  # its requests are counted as HTTP requests
            for name in names:
                self._wrap_method(cls, base, name, self._store_wrapper)

        self._hook_subclasses(base, wrap)
        self.instrumented.add("tracking store" if kind == "tracking" else "registry store")

    def _store_wrapper(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        probes = self
        record = self.recorder.request

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not probes.active:
                return func(*args, **kwargs)
            stack = probes._ops()
            outer = any(op[0] == STORE for op in stack)
            mine = [STORE, False]
            stack.append(mine)
            error = False
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            except BaseException:
                error = True
                raise
            finally:
                seconds = time.perf_counter() - started
                stack.pop()
                if not outer and not mine[1]:
                    for op in stack:
                        op[1] = True
                    try:
                        endpoint = f"{type(args[0]).__name__}.{name}"
                        values = _store_values(name, args, kwargs)
                        record(Request(endpoint, started, seconds, error=error, values=values))
                    except Exception:
                        pass

        setattr(wrapper, WRAPPED, True)
        return wrapper

    # --- artifact repositories -----------------------------------------------------------------
    def _patch_artifact_module(self, module: ModuleType) -> None:
        base = getattr(module, "ArtifactRepository", None)
        if not isinstance(base, type):
            return

        def wrap(cls: type) -> None:
            for name in ARTIFACT_METHODS:
                self._wrap_method(cls, base, name, self._artifact_wrapper)

        self._hook_subclasses(base, wrap)
        self.instrumented.add("artifact repositories")

    def _artifact_wrapper(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        probes = self
        record = self.recorder.request
        try:
            params = list(inspect.signature(func).parameters)
        except (TypeError, ValueError):
            params = []
        upload = next((params.index(p) for p in _UPLOAD_PARAMS if p in params), None)
        upload_name = params[upload] if upload is not None else ""
        download = name == "_download_file" and "local_path" in params
        download_index = params.index("local_path") if download else 0

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not probes.active:
                return func(*args, **kwargs)
            stack = probes._ops()
            mine = [ARTIFACT, False]
            stack.append(mine)
            error = False
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            except BaseException:
                error = True
                raise
            finally:
                seconds = time.perf_counter() - started
                stack.pop()
                if not mine[1]:
                    for op in stack:
                        op[1] = True
                    try:
                        sent = received = 0
                        if upload is not None and not name.startswith(("list", "delete")):
                            sent = _size(_arg(args, kwargs, upload, upload_name))
                        if download:
                            received = _size(_arg(args, kwargs, download_index, "local_path"))
                        endpoint = f"{type(args[0]).__name__}.{name}"
                        record(Request(endpoint, started, seconds, "", sent, received, error))
                    except Exception:
                        pass

        setattr(wrapper, WRAPPED, True)
        return wrapper

    # --- classes -------------------------------------------------------------------------------
    def _wrap_method(
        self,
        cls: type,
        base: type,
        name: str,
        make: Callable[[str, Callable[..., Any]], Callable[..., Any]],
    ) -> None:
        impl = getattr(cls, name, None)
        if not inspect.isfunction(impl) or getattr(impl, WRAPPED, False):
            return  # missing, a classmethod, or a parent class's method already wrapped
        if vars(base).get(name) is impl:
            return  # the base class's own default: whatever it calls is counted there
        self._set(cls, name, make(name, impl))

    def _hook_subclasses(self, base: type, wrap: Callable[[type], None]) -> None:
        """Wrap the subclasses of `base` there are, and those defined while the run lasts."""
        for cls in _all_subclasses(base):
            wrap(cls)
        probes = self
        own = vars(base).get("__init_subclass__")
        parent: Any = base

        def init_subclass(cls: Any, /, **kwargs: Any) -> None:
            if own is not None:
                own.__get__(None, cls)(**kwargs)
            else:
                super(parent, cls).__init_subclass__(**kwargs)
            if probes.active:
                wrap(cls)

        self._set(base, "__init_subclass__", classmethod(init_subclass))

    # --- async logging -------------------------------------------------------------------------
    def _patch_queued(self, class_name: str) -> Callable[[ModuleType], None]:
        def patch(module: ModuleType) -> None:
            cls = getattr(module, class_name, None)
            if not isinstance(cls, type):
                return
            init = vars(cls).get("__init__") or cls.__init__  # type: ignore[misc]
            probes = self
            queued = self.recorder.queued

            @functools.wraps(init)
            def tagged_init(item: Any, *args: Any, **kwargs: Any) -> None:
                init(item, *args, **kwargs)
                if probes.active:
                    try:
                        tag = queued()
                        if tag is not None:
                            item.__dict__[TAG] = tag
                    except Exception:
                        pass

            self._set(cls, "__init__", tagged_init)
            self._set(cls, TAG, False)  # marks the class: the recorder looks for its instances
            if class_name == "RunBatch":
                self.instrumented.add("async logging queue")

        return patch

    # --- threads and processes -----------------------------------------------------------------
    def _patch_threads(self) -> None:
        probes = self
        recorder = self.recorder
        start = threading.Thread.start

        @functools.wraps(start)
        def tagged_start(thread: threading.Thread) -> None:
            if probes.active:
                try:
                    tag = recorder.here()
                    if tag[1] is not Origin.UNKNOWN:
                        thread.__dict__[TAG] = tag
                except Exception:
                    pass
            start(thread)

        self._set(threading.Thread, "start", tagged_start)
        submit: Callable[..., Any] = concurrent.futures.ThreadPoolExecutor.submit

        @functools.wraps(submit)
        def tagged_submit(executor: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            if not probes.active:
                return submit(executor, fn, *args, **kwargs)
            tag = recorder.here()
            if tag[1] is Origin.UNKNOWN:
                return submit(executor, fn, *args, **kwargs)

            @functools.wraps(fn)
            def task(*task_args: Any, **task_kwargs: Any) -> Any:
                previous = recorder.set_task(tag)
                try:
                    return fn(*task_args, **task_kwargs)
                finally:
                    recorder.set_task(previous)

            return submit(executor, task, *args, **kwargs)

        self._set(concurrent.futures.ThreadPoolExecutor, "submit", tagged_submit)

    def _patch_processes(self) -> None:
        global _FORK_PROBES
        probes = self
        recorder = self.recorder
        local = self._local
        _register_fork_hook()
        _FORK_PROBES = self

        import multiprocessing.process

        process_start = multiprocessing.process.BaseProcess.start

        @functools.wraps(process_start)
        def counted_start(process: Any) -> None:
            if probes.active:
                recorder.child_process("multiprocessing")
            local.forking = True
            try:
                process_start(process)
            finally:
                local.forking = False

        self._set(multiprocessing.process.BaseProcess, "start", counted_start)
        popen_init = subprocess.Popen.__init__

        @functools.wraps(popen_init)
        def counted_popen(popen: Any, *args: Any, **kwargs: Any) -> None:
            if probes.active and _called_by_user(recorder):
                recorder.child_process("subprocess")
            popen_init(popen, *args, **kwargs)

        self._set(subprocess.Popen, "__init__", counted_popen)

    def forked(self) -> None:
        if self.active and not getattr(self._local, "forking", False):
            self.recorder.child_process("os.fork")


def _called_by_user(recorder: Recorder) -> bool:
    """Whether the user's own code started this subprocess (not MLflow asking git for the
    commit, say): the first frame outside the subprocess module is the user's."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == subprocess.__file__:
        frame = frame.f_back  # type: ignore[assignment]
    return frame is not None and recorder.code.is_user(frame.f_code.co_filename)


_FORK_PROBES: Optional[Probes] = None
_FORK_HOOK = False


def _register_fork_hook() -> None:
    """`os.register_at_fork` cannot be undone: one hook per process, that asks the probes of
    the current run, if any."""
    global _FORK_HOOK
    if _FORK_HOOK or not hasattr(os, "register_at_fork"):
        return
    _FORK_HOOK = True

    def before_fork() -> None:
        if _FORK_PROBES is not None:
            _FORK_PROBES.forked()

    os.register_at_fork(before=before_fork)
