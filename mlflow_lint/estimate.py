"""`check --statistics`: how many tracking requests one iteration of each flagged loop makes,
now and after the available fixes. An estimate read from the code: every MLflow call that
talks to the tracking server counts as one request (a batch too), calls through helpers
defined in the file count where the helper is called, and calls guarded by `if step % N`,
a buffer-size or a time check count as none per iteration.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from mlflow_lint import dispatch, engine
from mlflow_lint import mlflow_api as api
from mlflow_lint.config import Settings
from mlflow_lint.context import FileContext, LoopFrame
from mlflow_lint.rule import Violation
from mlflow_lint.sourcefile import SourceError, decode, read_bytes

# Calls that build objects or read local state: no request.

Terms = dict[tuple[str, ...], int]  # loop labels, outer to inner -> calls per innermost iteration


@dataclass
class LoopEstimate:
    path: str
    line: int
    now: Terms
    after: Optional[Terms] = None  # None: the fixed code has no matching loop left
    where: str = ""  # `path:line`, or `path:cell N:line` in a notebook


@dataclass
class _Counter:
    ctx: FileContext
    loops: dict[int, Terms] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    nodes: dict[int, cst.CSTNode] = field(default_factory=dict)

    def visit_Call(self, node: cst.Call) -> None:
        found = self.ctx.api_call(node)
        calls = 0
        if found is not None:
            calls = 0 if found.name in api.NO_REQUEST or found.name.startswith("_") else 1
            if found.name == api.START_RUN and type(self.ctx.ancestors[-1]) is cst.WithItem:
                calls = 2  # leaving the `with` ends the run: one more request
        else:
            helper = self.ctx.local_function(node)
            if helper is not None:
                calls = len(self.ctx.reachable_api_calls(helper))
        if not calls:
            return
        # a run opened per iteration still repeats its requests with the loop around it
        frames = [f for f in self.ctx.loops(node, through_runs=True) if not f.at_most_once]
        if not frames or any(f.throttled for f in frames):
            return
        self._add(frames, calls)

    def _add(self, frames: list[LoopFrame], calls: int) -> None:
        outermost = frames[-1].loop
        labels = tuple(self.ctx.loop_label(f.loop) for f in reversed(frames))
        self.loops[id(outermost)][labels] += calls
        self.nodes[id(outermost)] = outermost


def _estimate_text(text: str, path: str) -> list[tuple[int, Terms]]:
    module = engine.parse(text)
    ctx = FileContext(module, path, text)
    counter = _Counter(ctx)
    ctx.walk({cst.Call: [counter.visit_Call]}, {})
    # helpers are resolved after the walk: their summaries are complete only now
    if not counter.loops:
        return []
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    found = [
        (positions[counter.nodes[key]].start.line, {k: v for k, v in terms.items()})
        for key, terms in counter.loops.items()
    ]
    return sorted(found, key=lambda item: item[0])


def estimate_file(path: str, settings: Settings) -> list[LoopEstimate]:
    """Per loop with tracking calls: requests per iteration now, and after all fixes. In a
    notebook, the code cells as one module (as the rules see them); `where` names the cell."""
    try:
        data = read_bytes(path)
        before = _estimate_bytes(data, path, settings)
    except SourceError:
        return []
    if not before:
        return []
    fixing = Settings(**{**settings.__dict__, "unsafe_fixes": True})
    _, fixed = dispatch.fix_source(data, path, fixing)
    after_by_labels: dict[tuple[tuple[str, ...], ...], list[Terms]] = defaultdict(list)
    if fixed is not None:
        try:
            for _, _, terms in _estimate_bytes(fixed, path, settings):
                after_by_labels[_shape(terms)].append(terms)
        except SourceError:
            pass
    estimates = []
    for line, where, terms in before:
        if fixed is None:
            after: Optional[Terms] = terms
        else:
            same_shape = after_by_labels.get(_shape(terms))
            after = same_shape.pop(0) if same_shape else {}
        estimates.append(LoopEstimate(path, line, terms, after, where))
    return estimates


def _estimate_bytes(data: bytes, path: str, settings: Settings) -> list[tuple[int, str, Terms]]:
    """(line, where: `path:line` or `path:cell N:line`, terms) per loop nest."""
    if not path.endswith(".ipynb"):
        return [(line, f"{path}:{line}", t) for line, t in _estimate_text(decode(data).text, path)]
    from mlflow_lint.notebook import Notebook  # only for notebooks

    notebook = Notebook.parse(data)
    if notebook.skipped:
        return []
    found = []
    for module in notebook.prepare(tuple(settings.rules_for(path))).modules:
        for line, terms in _estimate_text(module.text, path):
            probe = Violation("", "", "", line, 0, line, 0)
            [mapped] = module.map_violations([probe])
            found.append((line, f"{path}:cell {mapped.cell}:{mapped.line}", terms))
    return found


def _shape(terms: Terms) -> tuple[tuple[str, ...], ...]:
    """The outermost loop's label, to match a loop with its fixed self."""
    return tuple(sorted({labels[:1] for labels in terms}))


def render(terms: Optional[Terms]) -> str:
    """The terms as words: "1 request per `batch` iteration and 2 per `epoch` iteration"
    (a call in an inner loop is made on every iteration of it, in every outer iteration)."""
    if not terms:
        return "no request"
    parts: list[str] = []
    for labels, calls in sorted(terms.items(), key=lambda item: (-len(item[0]), item[0])):
        unit = ("request" if calls == 1 else "requests") if not parts else ""
        count = f"{calls} {unit}".rstrip()
        parts.append(f"{count} per `{labels[-1]}` iteration")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def total(terms: Optional[Terms]) -> int:
    return sum(terms.values()) if terms else 0


def report_lines(estimates: list[LoopEstimate]) -> list[str]:
    if not estimates:
        return []
    lines = ["Tracking requests per loop iteration (an estimate from the code):"]
    for item in estimates:
        where = item.where or f"{item.path}:{item.line}"
        lines.append(f"  {where}: now {render(item.now)}; after the fixes, {render(item.after)}.")
    now = sum(total(e.now) for e in estimates)
    after = sum(total(e.after) for e in estimates)
    nests = f"{len(estimates)} loop nest{'s' if len(estimates) != 1 else ''}"
    calls = f"{now} tracking call{'s' if now != 1 else ''}"
    lines.append(
        f"In all, {calls} in the bodies of {nests}, each made on every iteration of the loops "
        f"around it; {after} after the available fixes (`mlflow-lint check --fix "
        "--unsafe-fixes`)."
    )
    return [line + "\n" for line in lines]
