"""The profile as a terminal report (a table with bars for the heavy lines) or as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from mlflow_lint import estimate
from mlflow_lint.profile.analysis import Analysis, Line, Projection
from mlflow_lint.profile.program import Outcome, Program
from mlflow_lint.profile.recorder import Stats
from mlflow_lint.profile.sites import display_path

JSON_FORMAT_VERSION = 1
BAR_WIDTH = 16
_REST_PREFIXES = ("/api/2.0/mlflow/", "/api/3.0/mlflow/", "/api/2.0/")


@dataclass
class Report:
    program: Program
    outcome: Outcome
    run_seconds: float  # the program, its threads and its atexit handlers
    main_thread_wait: float
    mlflow_version: str
    tracking_uri: Optional[str]
    hosts: dict[str, int]
    instrumented: list[str]
    not_instrumented: list[str]
    analysis: Analysis
    cwd: str
    top: int
    notes: list[str] = field(default_factory=list)


# --- numbers ----------------------------------------------------------------------------------
def count(n: int) -> str:
    return f"{n:,}"


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover - the loop returns


def seconds(s: float) -> str:
    if s < 0.01:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def short_endpoint(endpoint: str) -> str:
    method, _, path = endpoint.partition(" ")
    for prefix in _REST_PREFIXES:
        if path.startswith(prefix):
            return f"{method} {path[len(prefix) :]}"
    return endpoint


def _bar(value: int, largest: int, ascii_only: bool) -> str:
    if largest <= 0:
        return " " * BAR_WIDTH
    eighths = round(value / largest * BAR_WIDTH * 8)
    if value and not eighths:
        eighths = 1
    if ascii_only:
        return ("#" * ((eighths + 7) // 8)).ljust(BAR_WIDTH)
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest].strip() if rest else ""
    return ("█" * full + partial).ljust(BAR_WIDTH)


# --- text -------------------------------------------------------------------------------------
def text(report: Report, ascii_only: bool = False) -> str:
    out: list[str] = []
    analysis = report.analysis
    totals = analysis.totals
    outcome = report.outcome
    where = f"; tracking URI {report.tracking_uri}" if report.tracking_uri else ""
    out.append(f"mlflow-lint profile: {report.program.describe()}")
    ended = f"exit code {outcome.exit_code}"
    if outcome.exception:
        ended = f"raised {outcome.exception} ({ended})"
    out.append(
        f"  {ended} after {seconds(report.run_seconds)}; MLflow {report.mlflow_version}{where}"
    )
    out.append("")
    share = report.main_thread_wait / report.run_seconds * 100 if report.run_seconds else 0.0
    out.append(
        f"{count(totals.requests)} tracking request{_s(totals.requests)} "
        f"({count(totals.calls)} call{_s(totals.calls)} into MLflow) in "
        f"{seconds(report.run_seconds)}: the main thread waited {seconds(report.main_thread_wait)} "
        f"on them ({share:.0f}% of the run)"
    )
    detail = []
    if totals.bytes_sent or totals.bytes_received:
        detail.append(f"{size(totals.bytes_sent)} sent, {size(totals.bytes_received)} received")
    other_wait = totals.wait_seconds - report.main_thread_wait
    if other_wait > 0.0005:
        detail.append(f"{seconds(other_wait)} waited in other threads")
    if totals.queued:
        detail.append(
            f"{count(totals.queued)} call{_s(totals.queued)} queued for async logging, sent in "
            f"{seconds(totals.background_seconds)} by MLflow's background threads"
        )
        lost = totals.queued - totals.sent_items
        if lost > 0:
            detail.append(f"{count(lost)} queued call{_s(lost)} never sent (lost at exit)")
    if totals.errors:
        detail.append(f"{count(totals.errors)} failed")
    if totals.retries:
        detail.append(f"{count(totals.retries)} retried")
    if detail:
        out.append("  " + "; ".join(detail))
    if report.hosts and len(report.hosts) > 1:
        hosts = ", ".join(f"{h} {count(n)}" for h, n in sorted(report.hosts.items()))
        out.append(f"  hosts: {hosts}")
    out.append("")
    shown = [line for line in analysis.lines if line.stats.requests or line.stats.queued]
    if not shown:
        out.append("No tracking request was made by the program's own code.")
    else:
        top = shown[: report.top]
        title = f"Top {len(top)} line{_s(len(top))} by tracking requests (measured)"
        if len(shown) > len(top):
            title += f"; {len(shown) - len(top)} more with --top"
        out.append(title + ":")
        out.append(
            f"  {'':<{BAR_WIDTH}} {'requests':>9} {'calls':>7} {'wait':>9} {'sent':>9}  line"
        )
        largest = max(line.stats.requests for line in top)
        for line in top:
            out.extend(_line(report, line, largest, ascii_only))
        out.append("")
    if analysis.projections:
        out.append(
            "What the available fixes would change (estimated; `mlflow-lint fix` applies them):"
        )
        for projection in analysis.projections:
            out.append("  " + _projection(report, projection, long=True))
        out.append("")
    if analysis.blind_spots:
        out.append(
            "Blind spots: lines with many requests, no finding, and no count in the engine's "
            "loop estimates (`check` does not see these requests):"
        )
        out.extend(_listed(report, line) for line in analysis.blind_spots)
        out.append("")
    if analysis.not_flagged:
        out.append(
            "Not flagged: lines with many requests that the engine counts in a loop's estimate "
            "but no rule judges worth changing (a call once per epoch, say):"
        )
        out.extend(_listed(report, line) for line in analysis.not_flagged)
        out.append("")
    if analysis.pseudo:
        out.append("Requests no line of the program made:")
        for item in analysis.pseudo:
            endpoints = _endpoints(item.stats, 4)
            out.append(f"  {count(item.stats.requests)} {item.label}: {endpoints}")
        out.append("")
    if analysis.children:
        out.append("Child processes (not followed: their requests are not counted):")
        for site, how, number in analysis.children:
            where_ = f"{display_path(site[0], report.cwd)}:{site[1]}" if site else "(no line)"
            out.append(f"  {where_}  started {count(number)} ({how})")
        out.append("")
    for warning in [*report.notes, *_warnings(report)]:
        out.append(f"warning: {warning}")
    out.append(
        "Measured: requests, calls, bytes and times, by the probes in this run. Estimated: "
        "requests after fixes (the engine's per-iteration counts times the iterations measured)."
    )
    return "\n".join(out) + "\n"


def _listed(report: Report, line: Line) -> str:
    where = f"{display_path(line.path, report.cwd)}:{line.line}"
    return f"  {where}  {count(line.stats.requests)} requests  {_clip(line.source, 60)}"


def _warnings(report: Report) -> list[str]:
    found = []
    if report.not_instrumented:
        found.append(
            "could not instrument " + ", ".join(report.not_instrumented) + "; counts may be low"
        )
    found.extend(f"not analysed: {error}" for error in report.analysis.errors)
    return found


def _line(report: Report, line: Line, largest: int, ascii_only: bool) -> list[str]:
    stats = line.stats
    where = f"{display_path(line.path, report.cwd)}:{line.line}"
    row = (
        f"  {_bar(stats.requests, largest, ascii_only)} {count(stats.requests):>9} "
        f"{count(stats.calls):>7} {seconds(stats.wait_seconds):>9} "
        f"{size(stats.bytes_sent) if stats.bytes_sent else '-':>9}  {where}"
    )
    lines = [row]
    indent = " " * (BAR_WIDTH + 4)
    if line.source:
        lines.append(f"{indent}{_clip(line.source, 90)}")
    if stats.requests:
        lines.append(f"{indent}{_endpoints(stats, 3)}")
    if stats.queued:
        lines.append(
            f"{indent}{count(stats.queued)} call{_s(stats.queued)} queued for async logging; "
            f"{count(stats.requests)} request{_s(stats.requests)} sent for them by MLflow's "
            f"threads ({seconds(stats.background_seconds)})"
        )
        lost = stats.queued - stats.sent_items
        if lost > 0:
            lines.append(
                f"{indent}{count(lost)} queued call{_s(lost)} never sent: lost when the program "
                "exited"
            )
    other = {k: v for k, v in line.by_origin.items() if k not in ("call", "queued") and v}
    if other.get("thread"):
        lines.append(
            f"{indent}{count(other['thread'])} from threads started or tasks submitted here"
        )
    if line.callers:
        callers = ", ".join(
            f"{display_path(p, report.cwd)}:{n} ({count(r)})" for (p, n), r in line.callers[:3]
        )
        lines.append(f"{indent}called from {callers}")
    for violation in line.findings:
        lines.append(f"{indent}{violation.code} {violation.message}")
        if violation.help:
            lines.append(f"{indent}  help: {violation.help}")
    for (path, number), violation in line.caller_findings[:2]:
        lines.append(
            f"{indent}{violation.code} at the call in "
            f"{display_path(path, report.cwd)}:{number}: {violation.message}"
        )
        if violation.help:
            lines.append(f"{indent}  help: {violation.help}")
    if not line.covered and stats.requests:
        if line.estimated_in is not None:
            path, number = line.estimated_in
            lines.append(
                f"{indent}no finding here; counted in the estimate of the loop at "
                f"{display_path(path, report.cwd)}:{number}"
            )
        else:
            lines.append(f"{indent}no finding here")
    if line.projection is not None:
        lines.append(f"{indent}fix: {_projection(report, line.projection, long=False)}")
    return lines


def _projection(report: Report, projection: Projection, long: bool) -> str:
    codes = ", ".join(projection.codes)
    fixes = f"{codes}'s fix" if len(projection.codes) == 1 else f"the fixes of {codes}"
    where = f"{display_path(projection.path, report.cwd)}:{projection.line}"
    scope = f"the loop at {where}" if projection.kind == "loop" else f"the calls at {where}"
    if projection.kind == "loop" and (projection.first, projection.last) != (
        projection.line,
        projection.end_line,
    ):
        scope += f" (lines {projection.first}-{projection.last}, with the calls next to it)"
    if projection.after is None:
        head = f"{count(projection.requests)} requests in {scope}; after {fixes}: cannot tell"
    else:
        head = (
            f"{count(projection.requests)} requests -> {count(projection.after)} in {scope} "
            f"after {fixes}"
        )
    if not long:
        return head
    parts = [head]
    if projection.now_terms is not None:
        sizes = ", ".join(
            f"{label} {count(n) if n is not None else '?'}" for label, n in projection.sizes.items()
        )
        now = estimate.render(projection.now_terms) + _once(projection.now_once, projection)
        after = estimate.render(projection.after_terms) + _once(projection.after_once, projection)
        estimated = (
            f" = {count(projection.estimated_now)}" if projection.estimated_now is not None else ""
        )
        if projection.after is not None and projection.codes:
            after += f" = {count(projection.after)}"
        parts.append(
            f"    estimate: now {now}{estimated} calls (measured: {count(projection.calls)}); "
            f"after the fixes {after}"
        )
        if sizes:
            parts.append(f"    iterations measured: {sizes}")
    for note in projection.notes:
        parts.append(f"    {note}")
    return "\n  ".join(parts)


def _once(calls: int, projection: Projection) -> str:
    if not calls:
        return ""
    times = "" if projection.entries == 1 else f" x {count(projection.entries)} runs of the loop"
    return f" + {calls} outside the loop{times}"


def _endpoints(stats: Stats, limit: int) -> str:
    items = stats.endpoints.most_common()
    text_ = ", ".join(f"{short_endpoint(e)} {count(n)}" for e, n in items[:limit])
    if len(items) > limit:
        text_ += f", {len(items) - limit} more"
    return text_


def _clip(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 3] + "..."


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# --- JSON -------------------------------------------------------------------------------------
def _stats(stats: Stats) -> dict[str, Any]:
    return {
        "requests": stats.requests,
        "calls": stats.calls,
        "queued": stats.queued,
        "queued_never_sent": max(0, stats.queued - stats.sent_items),
        "bytes_sent": stats.bytes_sent,
        "bytes_received": stats.bytes_received,
        "wait_seconds": round(stats.wait_seconds, 6),
        "background_seconds": round(stats.background_seconds, 6),
        "errors": stats.errors,
        "retries": stats.retries,
        "endpoints": dict(stats.endpoints.most_common()),
    }


def _projection_json(report: Report, projection: Projection) -> dict[str, Any]:
    found: dict[str, Any] = {
        "path": display_path(projection.path, report.cwd),
        "line": projection.line,
        "end_line": projection.end_line,
        "lines": [projection.first or projection.line, projection.last or projection.end_line],
        "kind": projection.kind,
        "codes": projection.codes,
        "measured": {"requests": projection.requests, "calls": projection.calls},
        "estimated_requests_after": projection.after,
        "notes": projection.notes,
    }
    if projection.now_terms is not None:
        found["per_iteration"] = {
            "now": estimate.render(projection.now_terms),
            "after": estimate.render(projection.after_terms),
        }
        found["outside_the_loops"] = {
            "now": projection.now_once,
            "after": projection.after_once,
            "times_the_loop_ran": projection.entries,
        }
        found["estimated_calls_now"] = projection.estimated_now
        found["iterations"] = projection.sizes
    return found


def document(report: Report) -> dict[str, Any]:
    analysis = report.analysis
    cwd = report.cwd
    projections = analysis.projections

    def where(path: str, line: int) -> dict[str, Any]:
        return {"path": display_path(path, cwd), "line": line}

    lines = []
    for line in analysis.lines:
        lines.append(
            {
                **where(line.path, line.line),
                "source": line.source,
                **_stats(line.stats),
                "origins": line.by_origin,
                "callers": [{**where(*site), "requests": n} for site, n in line.callers],
                "findings": [
                    {
                        "code": v.code,
                        "message": v.message,
                        "help": v.help,
                        "line": v.line,
                        "fixable": v.fix is not None,
                    }
                    for v in line.findings
                ],
                "caller_findings": [
                    {**where(*site), "code": v.code, "message": v.message, "help": v.help}
                    for site, v in line.caller_findings
                ],
                "blind_spot": line in analysis.blind_spots,
                "estimated_in": where(*line.estimated_in) if line.estimated_in else None,
                "fix": projections.index(line.projection) if line.projection else None,
            }
        )
    totals = _stats(analysis.totals)
    totals["main_thread_wait_seconds"] = round(report.main_thread_wait, 6)
    totals["run_seconds"] = round(report.run_seconds, 6)
    return {
        "version": JSON_FORMAT_VERSION,
        "program": {
            "argv": [report.program.target, *report.program.args],
            "module": report.program.module,
            "exit_code": report.outcome.exit_code,
            "exception": report.outcome.exception,
        },
        "mlflow": {
            "version": report.mlflow_version,
            "tracking_uri": report.tracking_uri,
            "hosts": report.hosts,
            "instrumented": sorted(report.instrumented),
            "not_instrumented": report.not_instrumented,
        },
        "totals": totals,
        "lines": lines,
        "fixes": [_projection_json(report, p) for p in projections],
        "loop_nests": [_projection_json(report, p) for p in analysis.nests],
        "blind_spots": [
            {**where(line.path, line.line), "requests": line.stats.requests}
            for line in analysis.blind_spots
        ],
        "not_flagged": [
            {**where(line.path, line.line), "requests": line.stats.requests}
            for line in analysis.not_flagged
        ],
        "unattributed": [{"label": p.label, **_stats(p.stats)} for p in analysis.pseudo],
        "child_processes": [
            {**(where(*site) if site else {"path": None, "line": None}), "how": how, "count": n}
            for site, how, n in analysis.children
        ],
        "loops": [
            {
                **where(path, loop.line),
                "label": loop.label,
                "iterations_with_requests": iterations,
                "entries": entries,
            }
            for path, loop, iterations, entries in analysis.loops
        ],
        "warnings": [*report.notes, *_warnings(report)],
    }


def json_text(report: Report) -> str:
    return json.dumps(document(report), indent=2) + "\n"
