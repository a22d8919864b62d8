"""After the run: what was measured, per line, next to what the engine says about that line.

- Measured: per line of the user's code, the requests it made (the innermost user frame; a
  helper counts at its own line), the calls, bytes and waiting time; per loop, the iterations
  during which requests were made (loops.Census).
- From the engine, over the same files: the findings at each line (`check`, with the same
  configuration), and the per-iteration request counts of each loop nest now and after the
  available fixes (estimate.py, as `check --statistics` prints them).
- Estimated: the requests each nest would make after the fixes, the estimate's per-iteration
  counts multiplied by the iterations measured in this run. Fixes that buffer a loop's calls
  and send them when it ends (MLF101's, MLF105's) add one request per entry of the loop, and
  MLF101's buffer also sends every 1000 metrics or 5 seconds. Outside loops, MLF102-MLF104
  merge adjacent calls into one per execution.
- Blind spots: lines that made many requests where no finding points, neither at the line
  nor at a line that called it.
"""

from __future__ import annotations

import linecache
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

from mlflow_lint import engine, estimate
from mlflow_lint import mlflow_api as api
from mlflow_lint.config import Settings
from mlflow_lint.profile.loops import Census, FileLoops, Loop
from mlflow_lint.profile.recorder import Key, Origin, Recorder, Site, Stats
from mlflow_lint.rule import Violation

# What a fix does to the requests where the per-iteration estimate cannot see it.
FLUSH_AFTER_LOOP = frozenset({"MLF101", "MLF105", "MLF107"})  # one request when the loop ends
THROTTLED = frozenset({"MLF101"})  # and every MAX_METRICS_PER_BATCH metrics or N seconds
MERGES = frozenset({"MLF102", "MLF103", "MLF104"})  # N adjacent calls -> 1 per execution
# An HTTP artifact repository uploads file by file whatever the call: no request is saved.
PER_FILE_ON_HTTP = frozenset({"MLF107"})

Terms = estimate.Terms


@dataclass
class Projection:
    """What the available fixes would change, for a loop nest or a group of calls."""

    path: str
    line: int  # the nest's loop, or the group's first line
    end_line: int
    codes: list[str]  # the rules whose fixes apply here
    requests: int  # measured, in this scope
    calls: int  # measured
    after: Optional[int]  # estimated requests after the fixes (None: cannot tell)
    now_terms: Optional[Terms] = None  # the engine's per-iteration counts (loop nests)
    after_terms: Optional[Terms] = None
    estimated_now: Optional[int] = None  # the per-iteration counts at the measured sizes
    sizes: dict[str, Optional[int]] = field(default_factory=dict)  # loop label -> iterations
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "loop" if self.now_terms is not None else "calls"


@dataclass
class Line:
    path: str
    line: int
    source: str
    stats: Stats  # requests made at this line (innermost user frame)
    by_origin: dict[str, int]  # requests per origin
    callers: list[tuple[Site, int]]  # the lines that called this one's function, with requests
    findings: list[Violation]  # at this line
    caller_findings: list[tuple[Site, Violation]]  # at a line that called it
    projection: Optional[Projection] = None

    @property
    def covered(self) -> bool:
        return bool(self.findings or self.caller_findings)


@dataclass
class Pseudo:
    """Requests no line of the user's code made."""

    label: str
    stats: Stats


@dataclass
class Analysis:
    lines: list[Line]  # by requests, most first
    pseudo: list[Pseudo]
    projections: list[Projection]  # where fixes apply
    nests: list[Projection]  # every loop nest that made requests, with the engine's estimate
    blind_spots: list[Line]
    totals: Stats
    children: list[tuple[Optional[Site], str, int]]  # (where, how, count)
    loops: list[tuple[str, Loop, int, int]]  # (path, loop, iterations, entries)
    errors: list[str]  # files the engine could not check


def _source(path: str, line: int) -> str:
    return linecache.getline(path, line).strip()


def analyse(recorder: Recorder, settings: Settings, blind_spot_min: int) -> Analysis:
    by_line: dict[Site, Stats] = defaultdict(Stats)
    origins: dict[Site, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    callers: dict[Site, dict[Site, int]] = defaultdict(lambda: defaultdict(int))
    pseudo: dict[str, Stats] = defaultdict(Stats)
    totals = Stats()
    for key, stats in recorder.stats.items():
        totals.add(stats)
        if not key.chain:
            pseudo[_pseudo_label(key)].add(stats)
            continue
        site = key.chain[-1]
        by_line[site].add(stats)
        origins[site][key.origin.value] += stats.requests
        if len(key.chain) > 1:
            callers[site][key.chain[-2]] += stats.requests

    files = sorted({site[0] for key in recorder.stats for site in key.chain})
    findings: dict[str, list[Violation]] = {}
    errors: list[str] = []
    for path in files:
        result = engine.check_file(path, settings)
        if result.error is not None:
            errors.append(f"{path}:{result.error.line}: {result.error.message}")
        findings[path] = result.violations

    def at(site: Site) -> list[Violation]:
        return [v for v in findings.get(site[0], ()) if v.line <= site[1] <= v.end_line]

    lines: list[Line] = []
    for site, stats in by_line.items():
        chains = [k.chain for k in recorder.stats if k.chain and k.chain[-1] == site]
        caller_findings = [
            (outer, v) for chain in chains for outer in chain[:-1] for v in at(outer)
        ]
        lines.append(
            Line(
                path=site[0],
                line=site[1],
                source=_source(*site),
                stats=stats,
                by_origin=dict(origins[site]),
                callers=sorted(callers[site].items(), key=lambda item: -item[1]),
                findings=at(site),
                caller_findings=_unique(caller_findings),
            )
        )
    lines.sort(key=lambda item: (-item.stats.requests, -item.stats.queued, item.path, item.line))

    scopes = _projections(recorder, settings, files, findings)
    projections = [p for p in scopes if p.codes]
    for item in lines:
        item.projection = _projection_for(item, projections)
    blind = [item for item in lines if item.stats.requests >= blind_spot_min and not item.covered]
    children = [
        (key.chain[-1] if key.chain else None, how, count)
        for (key, how), count in sorted(recorder.children.items(), key=lambda item: -item[1])
    ]
    census = recorder.census
    loops = []
    for (path, line), iterations in sorted(census.iterations.items()):
        file_loops = census.file(path)
        loop = file_loops.loops.get(line) if file_loops else None
        if loop is not None:
            loops.append((path, loop, iterations, census.entries[(path, line)]))
    return Analysis(
        lines=lines,
        pseudo=[Pseudo(label, stats) for label, stats in sorted(pseudo.items())],
        projections=projections,
        nests=[p for p in scopes if p.kind == "loop"],
        blind_spots=blind,
        totals=totals,
        children=children,
        loops=loops,
        errors=errors,
    )


def _pseudo_label(key: Key) -> str:
    if key.origin is Origin.EXIT:
        return "at exit (MLflow's atexit handlers: ending runs left open, flushing async logging)"
    return f"in thread {key.label!r} (started by nothing in the program's own code)"


def _unique(pairs: list[tuple[Site, Violation]]) -> list[tuple[Site, Violation]]:
    seen = set()
    found = []
    for site, violation in pairs:
        key = (site, violation.code, violation.line, violation.column)
        if key not in seen:
            seen.add(key)
            found.append((site, violation))
    return found


def _projection_for(line: Line, projections: list[Projection]) -> Optional[Projection]:
    """The projection whose scope holds this line, or a line that called it."""
    sites = [(line.path, line.line), *(site for site, _ in line.callers)]
    for projection in projections:
        for path, number in sites:
            if path == projection.path and projection.line <= number <= projection.end_line:
                return projection
    return None


# --- the requests each scope made, from the chains that passed through it --------------------
def _scope_counts(recorder: Recorder, path: str, first: int, last: int) -> dict[int, Stats]:
    """Per line of `path` in [first, last]: the requests and calls made there or below
    (inclusive), each counted once, at its outermost line in the scope."""
    found: dict[int, Stats] = defaultdict(Stats)
    for key, stats in recorder.stats.items():
        for site_path, number in key.chain:
            if site_path == path and first <= number <= last:
                found[number].add(stats)
                break
    return found


# --- projections ----------------------------------------------------------------------------
def _projections(
    recorder: Recorder,
    settings: Settings,
    files: list[str],
    findings: dict[str, list[Violation]],
) -> list[Projection]:
    projections: list[Projection] = []
    census = recorder.census
    for path in files:
        violations = [v for v in findings.get(path, ()) if v.fix is not None]
        file_loops = census.file(path)
        nests = []
        estimates = estimate.estimate_file(path, settings) if file_loops is not None else []
        for nest in estimates:
            loop = file_loops.loops.get(nest.line) if file_loops is not None else None
            if loop is None or file_loops is None:
                continue  # a comprehension: its loops are not measured
            inside = [v for v in violations if loop.line <= v.line <= loop.end_line]
            projection = _nest(recorder, census, file_loops, path, loop, nest, inside)
            if projection.requests or projection.calls:
                projections.append(projection)
                nests.append(loop)
        for violation in violations:
            if violation.code not in MERGES:
                continue
            if any(n.line <= violation.line <= n.end_line for n in nests):
                continue
            merged = _merge(recorder, path, violation)
            if merged is not None and merged.requests:
                projections.append(merged)
    projections.sort(
        key=lambda p: (
            -(p.requests - (p.after if p.after is not None else p.requests)),
            -p.requests,
        )
    )
    return projections


def _nest(
    recorder: Recorder,
    census: Census,
    file_loops: FileLoops,
    path: str,
    root: Loop,
    nest: estimate.LoopEstimate,
    violations: list[Violation],
) -> Projection:
    per_line = _scope_counts(recorder, path, root.line, root.end_line)
    requests = sum(s.requests for s in per_line.values())
    calls = sum(s.calls for s in per_line.values())
    # calls per label path, from the lines directly at each loop level
    calls_at: dict[tuple[str, ...], int] = defaultdict(int)
    for number, stats in per_line.items():
        labels = _labels_from(file_loops.enclosing(number), root)
        if labels:
            calls_at[labels] += stats.calls
    sizes: dict[tuple[str, ...], Optional[int]] = {}
    _measure(file_loops, census, path, root, (), sizes)

    def size(labels: tuple[str, ...]) -> Optional[int]:
        measured = sizes.get(labels)
        if measured:
            return measured
        per_iteration = nest.now.get(labels)
        if per_iteration and calls_at.get(labels):
            return round(calls_at[labels] / per_iteration)
        return None

    def evaluate(terms: Optional[Terms]) -> Optional[int]:
        if not terms:
            return 0
        result = 0
        for labels, per_iteration in terms.items():
            iterations = size(labels)
            if iterations is None:
                return None
            result += per_iteration * iterations
        return result

    codes = sorted({v.code for v in violations})
    projection = Projection(
        path=path,
        line=root.line,
        end_line=root.end_line,
        codes=codes,
        requests=requests,
        calls=calls,
        after=None,
        now_terms=nest.now,
        after_terms=nest.after,
        estimated_now=evaluate(nest.now),
        sizes={" x ".join(k): size(k) for k in sorted(set(nest.now) | set(nest.after or {}))},
    )
    if not violations:
        return projection  # no fix applies: the measured and the estimated counts only
    after = evaluate(nest.after)
    if after is None:
        projection.notes.append("a loop's iterations were not measured")
        return projection
    for violation in violations:
        if violation.code not in FLUSH_AFTER_LOOP:
            continue
        loop = _fixed_loop(file_loops, violation, root)
        if loop is None or loop.line != root.line:
            continue  # flushed inside an outer loop of the nest: in the estimate already
        entries = census.entries.get((path, root.line)) or 1
        line_stats = per_line.get(violation.line, None)
        if violation.code in PER_FILE_ON_HTTP and line_stats is not None:
            puts = sum(n for e, n in line_stats.endpoints.items() if e.startswith("PUT "))
            if puts:
                after += puts
                projection.notes.append(
                    f"line {violation.line}: the tracking server's artifact proxy takes one "
                    "upload per file whatever the call, so its uploads stay"
                )
                continue
        after += entries
        if violation.code in THROTTLED and line_stats is not None:
            extra = line_stats.values // api.MAX_METRICS_PER_BATCH
            busy = line_stats.last - line_stats.first - line_stats.wait_seconds
            extra += max(0, int(busy // api.BUFFER_FLUSH_SECONDS))
            if extra:
                after += extra
                projection.notes.append(
                    f"line {violation.line}: about {extra} more for the buffer's flushes every "
                    f"{api.MAX_METRICS_PER_BATCH} metrics or {api.BUFFER_FLUSH_SECONDS} s"
                )
    projection.after = after
    return projection


def _labels_from(enclosing: tuple[Loop, ...], root: Loop) -> tuple[str, ...]:
    for index, loop in enumerate(enclosing):
        if loop.line == root.line:
            return tuple(item.label for item in enclosing[index:])
    return ()


def _measure(
    file_loops: FileLoops,
    census: Census,
    path: str,
    loop: Loop,
    outer: tuple[str, ...],
    sizes: dict[tuple[str, ...], Optional[int]],
) -> None:
    labels = (*outer, loop.label)
    if loop.counts_iterations:
        sizes[labels] = (sizes.get(labels) or 0) + census.iterations.get((path, loop.line), 0)
    for child in file_loops.loops.values():
        if child.parent == loop.line:
            _measure(file_loops, census, path, child, labels, sizes)


def _fixed_loop(file_loops: FileLoops, violation: Violation, root: Loop) -> Optional[Loop]:
    """The loop a finding's fix buffers: the loop the finding points at (MLF105, MLF107 on
    the loop statement), or the innermost loop around the call (MLF101)."""
    starting = file_loops.loops.get(violation.line)
    if starting is not None and violation.code != "MLF101":
        return starting
    enclosing = file_loops.enclosing(violation.line)
    return enclosing[-1] if enclosing else None


def _merge(recorder: Recorder, path: str, violation: Violation) -> Optional[Projection]:
    per_line = _scope_counts(recorder, path, violation.line, violation.end_line)
    if not per_line:
        return None
    executions = max(stats.calls or stats.queued for stats in per_line.values())
    return Projection(
        path=path,
        line=violation.line,
        end_line=violation.end_line,
        codes=[violation.code],
        requests=sum(s.requests for s in per_line.values()),
        calls=sum(s.calls for s in per_line.values()),
        after=executions,
    )
