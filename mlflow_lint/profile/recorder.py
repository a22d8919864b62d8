"""Credit every tracking request to a line of the user's code, and keep the counts.

Where a request is credited (its `Origin`), in order:

- CALL: the innermost frame of the user's own code on the stack of the thread that makes it
  (sites.py says what is the user's). A helper of the user's counts at its line that calls
  MLflow; the whole chain of the user's frames is kept too, so the line that calls the helper
  sees the request as well (`inclusive` counts).
- QUEUED: MLflow's async logging sends from its own threads; the call was queued by a line of
  the user's (probes.py marks each queued batch with that line when it is created), and the
  request is credited there. When MLflow merges queued batches into one request, it is credited
  to the line that queued the first of them.
- THREAD: a thread started, or a task submitted to a thread pool, by a line of the user's
  (for example `pool.submit(mlflow.log_metric, ...)`, or MLflow's system-metrics thread that
  `start_run` starts) with no user code of its own on the stack.
- EXIT: MLflow's `atexit` handlers (ending a run that was left open, flushing async logging).
- UNKNOWN: anything else (a thread that nothing of the user's started).

The counts: requests (HTTP requests, or store operations and artifact copies for local
stores), calls (entries into MLflow from the line: one `log_metrics` that is split into three
requests is one call), calls queued for async logging, bytes sent and received, the time the
requesting thread waited, errors, retries, and the endpoints.
"""

from __future__ import annotations

import enum
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Optional

from mlflow_lint.profile.loops import Census
from mlflow_lint.profile.sites import CodeFilter

Site = tuple[str, int]  # (absolute path, line)
Chain = tuple[Site, ...]  # the user's frames on the stack, outermost first

# The attribute probes.py sets on the objects MLflow queues (async logging), and on threads.
TAG = "_mlflow_lint_site"


class Origin(str, enum.Enum):
    CALL = "call"
    QUEUED = "queued"
    THREAD = "thread"
    EXIT = "exit"
    UNKNOWN = "unknown"


@dataclass
class Stats:
    requests: int = 0
    calls: int = 0
    queued: int = 0
    sent_items: int = 0  # queued calls that MLflow's threads did send (merged ones included)
    bytes_sent: int = 0
    bytes_received: int = 0
    wait_seconds: float = 0.0  # the requesting thread was blocked (synchronous calls)
    background_seconds: float = 0.0  # sent by MLflow's async logging threads
    errors: int = 0
    retries: int = 0
    values: int = 0  # metrics, params and tags sent (for the batch-limit estimates)
    endpoints: Counter[str] = field(default_factory=Counter)
    first: float = 0.0  # perf_counter of the first and last events
    last: float = 0.0

    def add(self, other: Stats) -> None:
        self.requests += other.requests
        self.calls += other.calls
        self.queued += other.queued
        self.sent_items += other.sent_items
        self.bytes_sent += other.bytes_sent
        self.bytes_received += other.bytes_received
        self.wait_seconds += other.wait_seconds
        self.background_seconds += other.background_seconds
        self.errors += other.errors
        self.retries += other.retries
        self.values += other.values
        self.endpoints.update(other.endpoints)
        if other.first and (not self.first or other.first < self.first):
            self.first = other.first
        self.last = max(self.last, other.last)

    @property
    def seconds(self) -> float:
        return self.wait_seconds + self.background_seconds


@dataclass(frozen=True)
class Key:
    chain: Chain  # () for EXIT and UNKNOWN
    origin: Origin
    label: str = ""  # the thread's name, for UNKNOWN


@dataclass(frozen=True)
class Request:
    """One request as a probe saw it."""

    endpoint: str
    started: float  # perf_counter
    seconds: float
    host: str = ""
    bytes_sent: int = 0
    bytes_received: int = 0
    error: bool = False
    retries: int = 0
    values: int = 0


class Recorder:
    def __init__(self, code: CodeFilter) -> None:
        self.code = code
        self.census = Census()
        self.stats: dict[Key, Stats] = {}
        self.hosts: Counter[str] = Counter()
        self.children: Counter[tuple[Key, str]] = Counter()  # child processes started
        self.main_thread_wait = 0.0
        self.exiting = False  # set while MLflow's atexit handlers run
        self._lock = threading.Lock()
        self._local = threading.local()
        self._main = threading.main_thread().ident

    # --- where the current thread stands ------------------------------------------------------
    def _user_frames(self) -> tuple[list[FrameType], Optional[FrameType]]:
        """The user's frames on this thread's stack, innermost first, and the frame the
        innermost one called (the MLflow call it is in)."""
        is_user = self.code.is_user
        frames: list[FrameType] = []
        callee: Optional[FrameType] = None
        below: Optional[FrameType] = None
        frame: Optional[FrameType] = sys._getframe(1)
        while frame is not None:
            if is_user(frame.f_code.co_filename):
                if not frames:
                    callee = below
                frames.append(frame)
            elif not frames:
                below = frame
            frame = frame.f_back
        return frames, callee

    def _queued_item(self) -> Optional[Any]:
        """A queued item of MLflow's async logging that this thread is sending: the frames of
        its logging loop and workers hold it in a local variable."""
        frame: Optional[FrameType] = sys._getframe(1)
        while frame is not None:
            for value in frame.f_locals.values():
                # an instance of a class probes.py marked, tagged when it was queued
                if type(value).__dict__.get(TAG) is False and value.__dict__.get(TAG):
                    return value
            frame = frame.f_back
        return None

    def _queued_tag(self) -> Optional[tuple[Chain, Origin]]:
        item = self._queued_item()
        return None if item is None else item.__dict__[TAG]

    def _inherited(self) -> Optional[tuple[Chain, Origin]]:
        task = getattr(self._local, "task", None)
        if task is not None:
            return task  # type: ignore[no-any-return]
        return getattr(threading.current_thread(), TAG, None)

    def here(self) -> tuple[Chain, Origin]:
        """Where the current thread stands: the tag a thread started or a task submitted now
        inherits."""
        frames, _ = self._user_frames()
        if frames:
            return self._chain(frames), Origin.CALL
        tag = self._queued_tag() or self._inherited()
        if tag is not None:
            return tag[0], (Origin.QUEUED if tag[1] is Origin.QUEUED else Origin.THREAD)
        return (), Origin.UNKNOWN

    def _chain(self, frames: list[FrameType]) -> Chain:
        path = self.code.path
        return tuple((path(f.f_code.co_filename), f.f_lineno) for f in reversed(frames))

    def set_task(self, tag: Optional[tuple[Chain, Origin]]) -> Optional[tuple[Chain, Origin]]:
        previous = getattr(self._local, "task", None)
        self._local.task = tag
        return previous

    # --- events --------------------------------------------------------------------------------
    def request(self, request: Request) -> None:
        """A request was made (on the current thread)."""
        frames, callee = self._user_frames()
        census: list[Any] = []
        new_call = False
        sent: Counter[Key] = Counter()
        if frames:
            key = Key(self._chain(frames), Origin.CALL)
            census = self._census_keys(frames)
            new_call = self._new_call(callee)
        else:
            item = self._queued_item()
            tag = item.__dict__[TAG] if item is not None else self._inherited()
            if item is not None:
                # the queued calls this request sends: MLflow may have merged others into it,
                # queued by other lines
                for queued in (item, *(getattr(item, "child_batches", None) or ())):
                    chain = (queued.__dict__.get(TAG) or item.__dict__[TAG])[0]
                    sent[Key(chain, Origin.QUEUED)] += 1
            if tag is not None:
                origin = Origin.QUEUED if tag[1] is Origin.QUEUED else Origin.THREAD
                key = Key(tag[0], origin)
            elif self.exiting:
                key = Key((), Origin.EXIT)
            else:
                key = Key((), Origin.UNKNOWN, threading.current_thread().name)
        waited = key.origin is not Origin.QUEUED
        with self._lock:
            stats = self.stats.get(key)
            if stats is None:
                stats = self.stats[key] = Stats()
            attempts = 1 + request.retries  # each retry reached the server too
            stats.requests += attempts
            stats.calls += new_call
            for queued_key, items in sent.items():
                queued_stats = self.stats.get(queued_key)
                if queued_stats is None:
                    queued_stats = self.stats[queued_key] = Stats()
                queued_stats.sent_items += items
            stats.bytes_sent += request.bytes_sent
            stats.bytes_received += request.bytes_received
            stats.errors += request.error
            stats.retries += request.retries
            stats.values += request.values
            stats.endpoints[request.endpoint] += attempts
            if waited:
                stats.wait_seconds += request.seconds
                if threading.get_ident() == self._main:
                    self.main_thread_wait += request.seconds
            else:
                stats.background_seconds += request.seconds
            if not stats.first:
                stats.first = request.started
            stats.last = request.started + request.seconds
            if request.host:
                self.hosts[request.host] += attempts
            if census:
                self.census.update(census)

    def queued(self) -> Optional[tuple[Chain, Origin]]:
        """A call is being queued for async logging: count it, and return the tag the queued
        item carries to the thread that sends it."""
        frames, callee = self._user_frames()
        if not frames:
            tag = self._inherited()
            return (tag[0], Origin.QUEUED) if tag is not None else None
        chain = self._chain(frames)
        census = self._census_keys(frames)
        new_call = self._new_call(callee)
        now = time.perf_counter()
        with self._lock:
            key = Key(chain, Origin.CALL)
            stats = self.stats.get(key)
            if stats is None:
                stats = self.stats[key] = Stats()
            stats.queued += 1
            stats.calls += new_call
            if not stats.first:
                stats.first = now
            stats.last = now
            self.census.update(census)
        return chain, Origin.QUEUED

    def child_process(self, how: str) -> None:
        chain, origin = self.here()
        with self._lock:
            self.children[(Key(chain, origin), how)] += 1

    # --- helpers -------------------------------------------------------------------------------
    def _new_call(self, callee: Optional[FrameType]) -> bool:
        """Whether this event belongs to another call into MLflow than this thread's last one.
        The frame the user's line called is alive for the whole call; keeping a reference to
        the last one keeps its identity from being reused by the next call."""
        local = self._local
        if callee is not None and callee is getattr(local, "callee", None):
            return False
        local.callee = callee
        return True

    def _census_keys(self, frames: list[FrameType]) -> list[Any]:
        path = self.code.path
        return self.census.keys([(f, path(f.f_code.co_filename)) for f in reversed(frames)])
