"""After the run: what was measured, per line, next to what the engine says about that line.

- Measured: per line of the user's code, the requests it made (the innermost user frame; a
  helper counts at its own line), the calls, bytes and waiting time; per loop, the iterations
  during which requests were made (loops.Census).
- From the engine, over the same files: the findings at each line (`check`, with the same
  configuration), and the per-iteration request counts of each loop nest now and after the
  available fixes (estimate.py, as `check --statistics` prints them).
- Estimated: the requests each nest would make after the fixes. The file is fixed as
  `mlflow-lint fix --unsafe-fixes` would (estimate.py does the same); the estimate's
  per-iteration counts of the fixed nest are multiplied by the iterations measured in this run,
  and the calls the fixes leave outside the nest's loops (the batch call that replaced a loop,
  the last flush of MLF101's buffer) count once per time the nest ran. MLF101's buffer also
  sends every 1000 metrics or 5 seconds; MLF107's `log_artifacts` still uploads file by file
  to a tracking server. Outside loops, MLF102-MLF104 merge adjacent calls into one per
  execution.
- Blind spots: lines that made many requests where no finding points, neither at the line
  nor at a line that called it, and whose requests the engine's loop estimates do not count
  either. A line the estimates do count (a call once per epoch, which MLF101 leaves alone) is
  listed apart: the engine saw it and no rule judges it worth changing.
"""

from __future__ import annotations

import difflib
import linecache
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Optional

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from mlflow_lint import dispatch, engine, estimate
from mlflow_lint import mlflow_api as api
from mlflow_lint.config import Settings
from mlflow_lint.context import FileContext
from mlflow_lint.profile.loops import Census, FileLoops, Loop
from mlflow_lint.profile.recorder import Key, Origin, Recorder, Site, Stats
from mlflow_lint.rule import Violation
from mlflow_lint.rules.metric_in_loop import MARKER
from mlflow_lint.sourcefile import SourceError, decode, read_bytes

# What a fix does to the requests where the per-iteration estimate cannot see it.
THROTTLED = frozenset({"MLF101"})  # its buffer also sends every 1000 metrics or N seconds
THROTTLE_MARKER = MARKER  # the comment MLF101's fix writes above the buffer
MERGES = frozenset({"MLF102", "MLF103", "MLF104"})  # N adjacent calls -> 1 per execution
# `log_artifacts` still uploads file by file to an HTTP artifact proxy, and the run's lookup on
# the first upload stays.
PER_FILE = frozenset({"MLF107"})

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
    first: int = 0  # the lines the fixes rewrite (the nest and the calls next to it)
    last: int = 0
    now_once: int = 0  # calls there outside the loops: once each time the nest runs
    after_once: int = 0
    entries: int = 1  # times the nest ran

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
    # the loop nest whose estimate counts this line's calls (at the line or a line that called
    # it), as `check --statistics` prints it
    estimated_in: Optional[Site] = None

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
    blind_spots: list[Line]  # many requests, no finding, outside the engine's estimates
    not_flagged: list[Line]  # many requests, no finding, counted by the engine's estimates
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
        if stats.requests:
            origins[site][key.origin.value] += stats.requests
        if len(key.chain) > 1:
            callers[site][key.chain[-2]] += stats.requests

    files = sorted({site[0] for key in recorder.stats for site in key.chain})
    findings: dict[str, list[Violation]] = {}
    errors: list[str] = []
    for path in files:
        result = dispatch.check_file(path, settings)
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

    estimated: dict[Site, Site] = {}
    scopes = _projections(recorder, settings, files, findings, estimated)
    projections = [p for p in scopes if p.codes and p.after is not None and p.after < p.requests]
    for item in lines:
        item.projection = _projection_for(item, projections)
        sites = [(item.path, item.line), *(site for site, _ in item.callers)]
        item.estimated_in = next((estimated[s] for s in sites if s in estimated), None)
    many = [item for item in lines if item.stats.requests >= blind_spot_min and not item.covered]
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
        blind_spots=[item for item in many if item.estimated_in is None],
        not_flagged=[item for item in many if item.estimated_in is not None],
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
            first = projection.first or projection.line
            last = projection.last or projection.end_line
            if path == projection.path and first <= number <= last:
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
@dataclass
class _Fixed:
    """A file as read and as `fix --unsafe-fixes` leaves it (what estimate.py compares),
    with the request-making MLflow calls on each line of both."""

    loops: FileLoops
    calls: Counter[int]
    spans: list[tuple[int, int]]  # the lines of each request-making call, first to last
    fixed_loops: Optional[FileLoops]
    fixed_calls: Counter[int]
    fixed_text: str
    to_fixed: dict[int, int]  # unchanged lines: original line -> fixed line


def _fixed(path: str, settings: Settings, file_loops: FileLoops) -> _Fixed:
    text = file_loops.text
    calls, spans = _call_lines(text, path)
    fixing = Settings(**{**settings.__dict__, "unsafe_fixes": True})
    try:
        data = read_bytes(path)
        _, new = dispatch.fix_source(data, path, fixing)
        fixed_text = decode(new).text if new is not None else text
    except SourceError:
        fixed_text = text
    if fixed_text == text:
        mapping = {n: n for n in range(1, text.count("\n") + 2)}
        return _Fixed(file_loops, calls, spans, file_loops, calls, text, mapping)
    mapping = {}
    matcher = difflib.SequenceMatcher(None, text.splitlines(), fixed_text.splitlines(), False)
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        if tag == "equal":
            mapping.update({i1 + k + 1: j1 + k + 1 for k in range(i2 - i1)})
    try:
        fixed_loops: Optional[FileLoops] = FileLoops(fixed_text)
        fixed_calls, _ = _call_lines(fixed_text, path)
    except (SyntaxError, SourceError, ValueError):
        fixed_loops, fixed_calls = None, Counter()
    return _Fixed(file_loops, calls, spans, fixed_loops, fixed_calls, fixed_text, mapping)


def _call_lines(text: str, path: str) -> tuple[Counter[int], list[tuple[int, int]]]:
    """Per line, the MLflow calls that make a request (a call to a helper of the file counts
    the calls the helper makes), as estimate.py counts them; and the lines each call spans."""
    module = engine.parse(text)
    ctx = FileContext(module, path, text)
    found: list[tuple[cst.Call, int]] = []
    helpers: list[cst.Call] = []

    def visit(node: cst.Call) -> None:
        call = ctx.api_call(node)
        if call is not None:
            if call.name not in api.NO_REQUEST and not call.name.startswith("_"):
                found.append((node, 1))
        elif ctx.callee_is_local(node):
            helpers.append(node)

    ctx.walk({cst.Call: [visit]}, {})
    for node in helpers:  # helpers' summaries are complete only after the walk
        helper = ctx.local_function(node)
        if helper is not None and ctx.reachable_api_calls(helper):
            found.append((node, len(ctx.reachable_api_calls(helper))))
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    lines: Counter[int] = Counter()
    spans = []
    for node, number in found:
        position = positions[node]
        lines[position.start.line] += number
        spans.append((position.start.line, position.end.line))
    return lines, spans


def _projections(
    recorder: Recorder,
    settings: Settings,
    files: list[str],
    findings: dict[str, list[Violation]],
    estimated: dict[Site, Site],
) -> list[Projection]:
    """The loop nests that made requests, and the groups of calls MLF102-MLF104 merge. Fills
    `estimated`: each line of a request-making call that a nest's estimate counts -> the
    nest's loop."""
    projections: list[Projection] = []
    census = recorder.census
    for path in files:
        violations = [v for v in findings.get(path, ()) if v.fix is not None]
        file_loops = census.file(path)
        nests = []
        estimates = estimate.estimate_file(path, settings) if file_loops is not None else []
        fixed = _fixed(path, settings, file_loops) if file_loops and estimates else None
        for nest in estimates:
            loop = file_loops.loops.get(nest.line) if file_loops is not None else None
            if loop is None or fixed is None:
                continue  # a comprehension: its loops are not measured
            _counted(fixed, path, loop, nest, estimated)
            region = _region(fixed, loop)
            inside = [v for v in violations if region.first <= v.line <= region.last]
            projection = _nest(recorder, census, fixed, path, loop, nest, inside)
            if projection.requests or projection.calls:
                projections.append(projection)
                nests.append(region)
        for violation in violations:
            if violation.code not in MERGES:
                continue
            if any(n.first <= violation.line <= n.last for n in nests):
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


def _counted(
    fixed: _Fixed,
    path: str,
    root: Loop,
    nest: estimate.LoopEstimate,
    estimated: dict[Site, Site],
) -> None:
    """The lines of the calls in the nest at `root` that its estimate counts: a call inside
    its loops whose loop labels the estimate has a count for (a call guarded by `if step % N`
    or a time check is counted as none)."""
    for first, last in fixed.spans:
        labels = _labels_from(fixed.loops.enclosing(first), root)
        if labels and nest.now.get(labels):
            for number in range(first, last + 1):
                estimated.setdefault((path, number), (path, root.line))


@dataclass
class _Region:
    """Where a nest's fixes rewrite the file: the lines between the unchanged lines around the
    nest (the nest, and the calls next to it that a fix merged), in the file as read (`first`
    to `last`) and as fixed; and the request-making calls there that run once each time the
    nest runs (outside its loops), before and after the fixes."""

    first: int
    last: int
    now_once: int
    after_once: int
    fixed_text: str


def _region(fixed: _Fixed, root: Loop) -> _Region:
    depth = len([loop for loop in fixed.loops.enclosing(root.line) if loop.line != root.line])
    before = root.line - 1
    while before > 0 and before not in fixed.to_fixed:
        before -= 1
    after = root.end_line + 1
    last = max(fixed.to_fixed, default=0)
    while after <= last and after not in fixed.to_fixed:
        after += 1
    now = sum(
        n
        for line, n in fixed.calls.items()
        if before < line < after and len(fixed.loops.enclosing(line)) == depth
    )
    first, last = min(before + 1, root.line), max(after - 1, root.end_line)
    start = fixed.to_fixed.get(before, 0) + 1
    end = fixed.to_fixed.get(after, fixed.fixed_text.count("\n") + 2) - 1
    if fixed.fixed_loops is None:
        return _Region(first, last, now, now, "")
    fixed_loops = fixed.fixed_loops
    then = sum(
        n
        for line, n in fixed.fixed_calls.items()
        if start <= line <= end and len(fixed_loops.enclosing(line)) == depth
    )
    text = "\n".join(fixed.fixed_text.splitlines()[start - 1 : end])
    return _Region(first, last, now, then, text)


def _nest(
    recorder: Recorder,
    census: Census,
    fixed: _Fixed,
    path: str,
    root: Loop,
    nest: estimate.LoopEstimate,
    violations: list[Violation],
) -> Projection:
    file_loops = fixed.loops
    region = _region(fixed, root)
    per_line = _scope_counts(recorder, path, region.first, region.last)
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
    entries = census.entries.get((path, root.line)) or 1

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
    now_once, after_once = region.now_once, region.after_once
    in_loops = evaluate(nest.now)
    projection = Projection(
        path=path,
        line=root.line,
        end_line=root.end_line,
        first=region.first,
        last=region.last,
        now_once=region.now_once,
        after_once=region.after_once,
        entries=entries,
        codes=codes,
        requests=requests,
        calls=calls,
        after=None,
        now_terms=nest.now,
        after_terms=nest.after,
        estimated_now=None if in_loops is None else in_loops + now_once * entries,
        sizes={" x ".join(k): size(k) for k in sorted(set(nest.now) | set(nest.after or {}))},
    )
    if not violations:
        return projection  # no fix applies: the measured and the estimated counts only
    after = evaluate(nest.after)
    if after is None:
        projection.notes.append("a loop's iterations were not measured")
        return projection
    after += after_once * entries
    # requests beyond one per call (the experiment's and the run's lookups on first use)
    # stay after the fixes, except those of the uploads that a `log_artifacts` replaces
    uploads = "log_artifacts(" in region.fixed_text
    per_file = {v.line for v in violations if v.code in PER_FILE} if uploads else set()
    after += sum(s.requests - s.calls for n, s in per_line.items() if n not in per_file)
    buffered = THROTTLE_MARKER in region.fixed_text
    for violation in violations:
        line_stats = per_line.get(violation.line)
        if line_stats is None:
            continue
        if violation.code in PER_FILE and uploads:
            puts = sum(n for e, n in line_stats.endpoints.items() if e.startswith("PUT "))
            after += line_stats.requests - line_stats.calls  # the run's lookup on first use
            if puts:
                after += puts - entries
                projection.notes.append(
                    f"line {violation.line}: the tracking server's artifact proxy takes one "
                    "upload per file whatever the call, so its uploads stay"
                )
    if buffered and any(v.code in THROTTLED for v in violations):
        # the buffer also sends when it holds 1000 metrics, or 5 s after its last send: the
        # loop then runs without waiting on requests
        values = sum(stats.values for stats in per_line.values())
        started = min((stats.first for stats in per_line.values() if stats.first), default=0.0)
        ended = max((stats.last for stats in per_line.values()), default=0.0)
        busy = ended - started - sum(stats.wait_seconds for stats in per_line.values())
        extra = values // api.MAX_METRICS_PER_BATCH + max(0, int(busy // api.BUFFER_FLUSH_SECONDS))
        if extra:
            after += extra
            projection.notes.append(
                f"about {extra} more for the buffer's sends every "
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
