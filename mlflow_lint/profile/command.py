"""`mlflow-lint profile`, end to end: instrument, run, finish as the interpreter would, report.

After the program returns (or raises, or calls `sys.exit`), its non-daemon threads are joined
and the `atexit` handlers run, in the order of the interpreter's own exit: MLflow ends the runs
left open and flushes its async logging there, and those requests belong to the profile. Then
the probes are removed, the files that made requests are analysed, and the report is written.
The exit code is the program's.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Optional, TextIO
from urllib.parse import urlsplit, urlunsplit

from mlflow_lint.config import Settings
from mlflow_lint.profile import program as programs
from mlflow_lint.profile import render
from mlflow_lint.profile.analysis import analyse
from mlflow_lint.profile.probes import Probes, ProfileError, check_version
from mlflow_lint.profile.recorder import Recorder
from mlflow_lint.profile.sites import CodeFilter

FORMATS = ("text", "json")


@dataclass
class Options:
    program: programs.Program
    settings: Settings
    output_format: str = "text"
    output_file: Optional[str] = None
    top: int = 10
    blind_spot_min: int = 10


def profile(options: Options) -> int:
    """Run and report; returns the program's exit code. Raises ProfileError (exit 2) when the
    program cannot be run at all."""
    cwd = os.getcwd()
    pid = os.getpid()
    version = check_version()
    recorder = Recorder(CodeFilter())
    probes = Probes(recorder)
    probes.install()
    try:
        loaded = programs.load(options.program)
    except ProfileError:
        probes.uninstall()
        raise
    started = time.perf_counter()
    outcome = programs.run(loaded, options.program.args)
    _join_threads()
    recorder.exiting = True
    atexit._run_exitfuncs()  # what the interpreter does at exit: MLflow ends open runs here
    run_seconds = time.perf_counter() - started
    missing = probes.missing()
    instrumented = sorted(probes.instrumented)
    uri = _tracking_uri()
    probes.uninstall()
    if os.getpid() != pid:  # a child the program forked returned here: only the parent reports
        return outcome.exit_code
    try:
        report = render.Report(
            program=options.program,
            outcome=outcome,
            run_seconds=run_seconds,
            main_thread_wait=recorder.main_thread_wait,
            mlflow_version=version,
            tracking_uri=uri,
            hosts=dict(recorder.hosts),
            instrumented=instrumented,
            not_instrumented=missing,
            analysis=analyse(recorder, options.settings, options.blind_spot_min),
            cwd=cwd,
            top=options.top,
        )
        _write(report, options)
    except Exception:  # a bug of ours must not hide the program's exit code
        traceback.print_exc()
        print("mlflow-lint profile: internal error while writing the report", file=sys.stderr)
    return outcome.exit_code


def _join_threads() -> None:
    """What the interpreter does before the atexit handlers: `threading._shutdown()` runs the
    threading-atexit callbacks (`concurrent.futures` tells its idle pool workers to stop, and
    from then on refuses new work, as at a real exit) and joins the non-daemon threads."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None and threading.current_thread() is threading.main_thread():
        shutdown()
        return
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon and thread.is_alive():
            thread.join()


def _tracking_uri() -> Optional[str]:
    """The tracking URI the program ended with (credentials removed), if it used MLflow."""
    mlflow = sys.modules.get("mlflow")
    get = getattr(mlflow, "get_tracking_uri", None)
    if get is None:
        return None
    try:
        uri = str(get())
    except Exception:
        return None
    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        uri = urlunsplit(parts._replace(netloc=netloc))
    return uri


def _stream() -> TextIO:
    stream = sys.stdout
    if stream is None or getattr(stream, "closed", False):
        stream = sys.__stdout__
    assert stream is not None
    return stream


def _write(report: render.Report, options: Options) -> None:
    if options.output_format == "json":
        content = render.json_text(report)
    else:
        ascii_only = options.output_file is None and not _encodes(_stream(), "█▏")
        content = render.text(report, ascii_only=ascii_only)
    if options.output_file:
        with open(options.output_file, "w", encoding="utf-8") as out:
            out.write(content)
        return
    stream = _stream()
    stream.flush()
    stream.write(content)
    stream.flush()


def _encodes(stream: TextIO, sample: str) -> bool:
    try:
        sample.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
