"""Mutations: MLflow logging code inserted into programs, so fuzzing reaches the fix paths.

A generated or real program rarely logs anything to MLflow, so the linter's rules and fixes
never run on it. The strategies here insert *snippets* of MLflow logging code at random
statement positions of a base program (module bodies, function bodies, loop bodies,
with-blocks, if/else/try blocks), built from pieces the rules care about:

* how mlflow is imported: `import mlflow`, `import mlflow as mf`, `from mlflow import
  log_metric as lm, ...`, `from mlflow import *`, an `MlflowClient` (`client = MlflowClient()`),
  and sometimes an extra import *after* the calls (harmless for the original program);
* runs of adjacent `log_metric` / `log_param` / `set_tag` calls (same or different steps,
  literal, concatenated, f-string and computed keys, duplicate keys, pure and impure values);
* loops (for / while / comprehension, nested), training loops that only log metrics (fluent
  or through the client), `with mlflow.start_run():` blocks, `run = mlflow.start_run()` ...
  `mlflow.end_run()` pairs, `MlflowClient()` built inside loops, `if` guards, `for k, v in
  d.items(): mlflow.log_param(k, v)` loops, `os.listdir` / `Path.iterdir` + `log_artifact`
  loops, helper functions called from loops;
* formatting: comments between calls, `# noqa` comments, trailing commas, semicolons, backslash
  continuations, parenthesised multi-line calls with comments inside, a multi-line
  triple-quoted string argument, a comment ending a loop's last line, tabs / 2 / 4 spaces,
  LF / CRLF / mixed line endings.

Base programs: hypothesmith output, small generated skeletons of nested blocks, and real files
(the rules' examples, the end-to-end scripts, a fixed sample of MLflow's and other installed
packages' small files). `notebooks()` puts snippets into Jupyter notebooks. Everything is
drawn from hypothesis strategies, so a failure shrinks to a small program.

`executable_programs()` builds self-contained programs (a preamble defining every name the
snippets use, loops that terminate) that `run_recorded` executes against `FakeMlflow`, a
recording stand-in for the `mlflow` package: each call's arguments are bound with the real
MLflow signature (so a fix that passes a wrong keyword raises TypeError as it would on
MLflow) and normalised into what gets logged: metric (run, key, value, step) and param (run,
key, value) multisets, each run's final tags, uploaded artifacts, runs started (explicitly or
by a fluent call without an active run) and the exception the program ended with. Comparing
that record before and after a safe fix is the "never changes what gets logged" property.
The stub stands in for nothing we claim about MLflow itself; tests/test_logged_data.py
checks equivalence against a real MLflow server.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import io
import json
import os
import re
import tempfile
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

import hypothesmith
import libcst as cst
from hypothesis import strategies as st
from libcst.metadata import MetadataWrapper, PositionProvider

from mlflow_lint import dispatch, engine
from mlflow_lint.config import Settings
from mlflow_lint.engine import FileError
from mlflow_lint.sourcefile import SourceError, decode, line_starts

ROOT = Path(__file__).resolve().parent.parent
NL = "\x00"  # in snippet text, "\n" + NL is a line break continued at the statement's indentation

FLUENT = (
    "log_metric",
    "log_param",
    "set_tag",
    "log_metrics",
    "log_params",
    "set_tags",
    "log_artifact",
    "log_artifacts",
    "start_run",
    "end_run",
)
SHORT = {
    "log_metric": "lm",
    "log_param": "lp",
    "set_tag": "stag",
    "log_metrics": "lms",
    "log_params": "lps",
    "set_tags": "stags",
    "log_artifact": "la",
    "log_artifacts": "las",
    "start_run": "run_ctx",
    "end_run": "run_end",
}
# Every call name a logging intent can hide behind, for the statement oracle.
LOGGING_NAMES = frozenset(
    {*FLUENT, *SHORT.values(), "log_batch", "log_text", "log_dict", "MlflowClient"}
)
# Switches for pieces known to trigger a reported bug, to look past it while exploring
# (tests/test_regressions.py has the reproducers); the tests keep them all on.
LATE_IMPORTS = True  # import mlflow again after the calls
SEMICOLONS = True  # `mlflow.log_param("a", 1);`
COMMENTS_IN_CALLS = True  # a comment after an argument of a multi-line call
KEY_POOL = ("loss", "acc", "lr", "a", "b", "val loss", "x/y")


# --- the snippet model ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One statement line at `depth` indentation units below the insertion point. In `text`,
    "\\n" + NL continues the statement on a new line at the same indentation (inside brackets or
    after a backslash); a bare "\\n" is a line break inside a string literal, never indented."""

    depth: int
    text: str


def render(lines: Sequence[Line], prefix: str, unit: str) -> str:
    out = []
    for line in lines:
        indent = prefix + unit * line.depth
        out.append(indent + line.text.replace("\n" + NL, "\n" + indent) + "\n")
    return "".join(out)


@dataclass
class Alias:
    """How the snippet imports mlflow: setup lines, how to spell each fluent function, the
    MlflowClient variable if any, and imports placed after the calls."""

    setup: list[str]
    spell: dict[str, list[str]]
    client: Optional[str]
    late: list[str]


@dataclass
class Gen:
    """State while one snippet is drawn."""

    alias: Alias
    keys: set[str] = field(default_factory=set)  # literal logging keys used
    names: int = 0
    needs: set[str] = field(default_factory=set)  # "os", "Path"
    focus: tuple[str, ...] = ()  # statement kinds to favour in the outer blocks

    def fresh(self, stem: str) -> str:
        self.names += 1
        return f"{stem}{self.names}"


@st.composite
def aliases(draw: st.DrawFn, client_odds: int = 4) -> Alias:
    """One way of importing mlflow; an MlflowClient one time in `client_odds`."""
    spell: dict[str, list[str]] = {name: [] for name in FLUENT}
    setup: list[str] = []
    module = draw(st.sampled_from([None, "mlflow", "mlflow", "mf"]))
    if module == "mlflow":
        setup.append("import mlflow")
    elif module:
        setup.append(f"import mlflow as {module}")
    if module:
        for name in FLUENT:
            spell[name].append(f"{module}.{name}")
    style = draw(st.sampled_from(["none", "none", "from", "from-as", "star"]))
    if style == "star":
        setup.append("from mlflow import *")
        for name in FLUENT:
            spell[name].append(name)
    elif style != "none":
        names = draw(st.lists(st.sampled_from(FLUENT), min_size=1, max_size=5, unique=True))
        parts = []
        for name in names:
            bound = SHORT[name] if style == "from-as" else name
            parts.append(name if bound == name else f"{name} as {bound}")
            spell[name].append(bound)
        setup.append(f"from mlflow import {', '.join(parts)}")
    client = None
    if draw(st.integers(1, client_odds)) == 1:
        client = "client"
        if module:
            setup.append(f"client = {module}.MlflowClient()")
        else:
            setup += ["from mlflow import MlflowClient", "client = MlflowClient()"]
    if client is None and not any(spell[n] for n in ("log_metric", "log_param", "set_tag")):
        setup.insert(0, "import mlflow")
        for name in FLUENT:
            spell[name].append(f"mlflow.{name}")
    late = []
    calls = ("log_metric", "log_param", "set_tag")
    from_names = any(spell[n] and "." not in spell[n][-1] for n in calls)
    if LATE_IMPORTS and module and client is None and from_names and draw(st.integers(0, 2)) == 0:
        # the calls use names imported from mlflow; `import mlflow` comes after them
        late.append(setup.pop(0))
        for name in FLUENT:
            spell[name] = [s for s in spell[name] if not s.startswith(f"{module}.")]
    elif LATE_IMPORTS and draw(st.integers(0, 1 if module is None else 4)) == 0:
        late.append(
            draw(
                st.sampled_from(
                    [
                        "import mlflow",
                        "import mlflow as mf",
                        "from mlflow import log_metrics, log_params, set_tags",
                        "mlflow = None",
                    ]
                )
            )
        )
    return Alias(setup, spell, client, late)


# --- expressions ----------------------------------------------------------------------------------
def _key(draw: st.DrawFn, g: Gen, loop_vars: Sequence[str]) -> str:
    kinds = ["literal"] * 6 + ["concat", "name", "pure-call", "impure"]
    if loop_vars:
        kinds += ["fstring", "fstring"]
    kind = draw(st.sampled_from(kinds))
    if kind == "literal":
        key = draw(st.sampled_from(KEY_POOL))
        g.keys.add(key)
        return repr(key) if draw(st.integers(0, 4)) else f"'''{key}'''"
    if kind == "concat":
        g.keys.add("train_loss")
        return '"train" "_loss"'
    if kind == "fstring":
        return f'f"m{{{draw(st.sampled_from(loop_vars))}}}"'
    if kind == "name":
        return "key"
    if kind == "pure-call":
        return "str(x)"
    return '"k" + str(f())'


def _value(draw: st.DrawFn, loop_vars: Sequence[str], text: bool) -> str:
    options = ["0.5", "1", "-2", "loss", "loss * 2", "float(x)", "t.item()", "f()", "acc"]
    options += ["x if flag else 0", "abs(-x)"]
    options += list(loop_vars)
    if text:
        options += ['"""two\nlines"""', "'txt'", '"""one"""']
    return draw(st.sampled_from(options))


def _step(draw: st.DrawFn, loop_vars: Sequence[str]) -> Optional[str]:
    options: list[Optional[str]] = [None, None, "0", "1", "step"]
    options += list(loop_vars)
    options += [f"{v} * 10 + 1" for v in loop_vars]
    return draw(st.sampled_from(options))


def _format_call(draw: st.DrawFn, callee: str, args: Sequence[str]) -> str:
    style = draw(
        st.sampled_from(["plain"] * 4 + ["comma", "multiline", "commented", "backslash", "split"])
    )
    if style == "plain" or not args:
        return f"{callee}({', '.join(args)})"
    if style == "comma":
        return f"{callee}({', '.join(args)},)"
    if style == "multiline":
        inner = "".join(f"\n{NL}    {a}," for a in args)
        return f"{callee}({inner}\n{NL})"
    if style == "commented" and COMMENTS_IN_CALLS:
        inner = "".join(f"\n{NL}    {a},  # arg {i}" for i, a in enumerate(args))
        return f"{callee}({inner}\n{NL})"
    if style == "backslash":
        return f"{callee} \\\n{NL}    ({', '.join(args)})"
    head, *rest = args
    return f"{callee}({head}, \\\n{NL}        {', '.join(rest)})" if rest else f"{callee}({head})"


_SUFFIXES = [""] * 12 + [";", "  # note", "  # noqa", "  # noqa: MLF102", "  # noqa:MLF1"]


def _call(draw: st.DrawFn, g: Gen, kind: str, loop_vars: Sequence[str], step: Any) -> str:
    """One logging call statement: kind is "metric", "param" or "tag"."""
    names = {"metric": "log_metric", "param": "log_param", "tag": "set_tag"}
    if g.alias.client is None and not g.alias.spell[names[kind]]:
        kind = next(k for k, name in names.items() if g.alias.spell[name])
    fluent_name = names[kind]
    spellings = g.alias.spell[fluent_name]
    use_client = g.alias.client is not None and (not spellings or draw(st.integers(0, 3)) == 0)
    key = _key(draw, g, loop_vars)
    value = _value(draw, loop_vars, text=kind != "metric")
    if step == "draw":
        step = _step(draw, loop_vars)
    args: list[str]
    if use_client:
        callee = f"{g.alias.client}.{fluent_name}"
        run = draw(st.sampled_from(["run_id", "run_id", "'r-9'"]))
        args = [run, key, value]
        if kind == "metric" and step is not None:
            args.append(f"step={step}")
    else:
        callee = draw(st.sampled_from(spellings))
        keyword = draw(st.integers(0, 5)) == 0
        args = [f"key={key}", f"value={value}"] if keyword else [key, value]
        if kind == "metric" and step is not None:
            args.append(step if not keyword and draw(st.booleans()) else f"step={step}")
        extra = draw(st.sampled_from([None] * 8 + ["synchronous=None", "timestamp=5"]))
        if extra and (kind == "metric" or extra.startswith("synchronous")):
            args.append(extra)
    suffix = draw(st.sampled_from(_SUFFIXES))
    if suffix == ";" and not SEMICOLONS:
        suffix = ""
    return _format_call(draw, callee, args) + suffix


def _call_run(draw: st.DrawFn, g: Gen, depth: int, loop_vars: Sequence[str]) -> list[Line]:
    """Adjacent logging calls, the raw material of MLF102-MLF104 (and MLF101/106/108 in loops)."""
    n = draw(st.integers(1, 5))
    same_kind = draw(st.integers(0, 3)) > 0
    kind = draw(st.sampled_from(["metric", "metric", "param", "tag"]))
    shared_step = _step(draw, loop_vars) if draw(st.booleans()) else "draw"
    lines: list[Line] = []
    for index in range(n):
        if index:
            between = draw(st.sampled_from(["", "", "", "", "blank", "comment", "statement"]))
            if between == "blank":
                lines.append(Line(0, ""))
            elif between == "comment":
                lines.append(Line(depth, "# between the calls"))
            elif between == "statement":
                lines.append(Line(depth, "y = x + 0"))
        this_kind = kind if same_kind else draw(st.sampled_from(["metric", "param", "tag"]))
        lines.append(Line(depth, _call(draw, g, this_kind, loop_vars, shared_step)))
    return lines


# --- statements -----------------------------------------------------------------------------------
def _block(
    draw: st.DrawFn, g: Gen, depth: int, loop_vars: Sequence[str], nesting: int
) -> list[Line]:
    """A non-empty list of statements at `depth`."""
    kinds = ["calls", "calls", "calls"]
    if nesting < 3:
        kinds += ["for", "for", "while", "with-run", "if", "items", "helper", "run-pair"]
        kinds += ["metric-loop", "metric-loop", "try", "class", "async-helper"]
    kinds += ["comprehension", "listdir", "client", "client"]
    if nesting <= 1:
        kinds += list(g.focus) * 4
    lines: list[Line] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds))
        lines += _statement(draw, g, kind, depth, loop_vars, nesting)
    return lines


def _statement(
    draw: st.DrawFn, g: Gen, kind: str, depth: int, loop_vars: Sequence[str], nesting: int
) -> list[Line]:
    spell = g.alias.spell
    if kind == "for":
        var = g.fresh("i")
        header = draw(
            st.sampled_from(
                [
                    f"for {var} in range(3):",
                    f"for {var}, _item in enumerate([4, 5]):",
                    f"for {var} in [1, 2]:",
                    f"for {var} in range(2):  # loop",
                ]
            )
        )
        body = _block(draw, g, depth + 1, [*loop_vars, var], nesting + 1)
        if draw(st.integers(0, 7)) == 0:
            body.append(Line(depth + 1, "break"))
        body = _end_comment(draw, body)
        lines = [Line(depth, header), *body]
        if draw(st.integers(0, 7)) == 0:
            lines += [Line(depth, "else:"), Line(depth + 1, "x = x + 1")]
        return lines
    if kind == "while":
        var = g.fresh("w")
        body = _block(draw, g, depth + 1, [*loop_vars, var], nesting + 1)
        body = _end_comment(draw, [*body, Line(depth + 1, f"{var} += 1")])
        return [Line(depth, f"{var} = 0"), Line(depth, f"while {var} < 2:"), *body]
    if kind == "with-run" and spell["start_run"]:
        callee = draw(st.sampled_from(spell["start_run"]))
        args = draw(st.sampled_from(["", "", "run_name='r'", "nested=True"]))
        target = draw(st.sampled_from(["", "", " as run"]))
        body = _block(draw, g, depth + 1, loop_vars, nesting + 1)
        return [Line(depth, f"with {callee}({args}){target}:"), *body]
    if kind == "if":
        test = draw(
            st.sampled_from(
                ["flag", "not flag", *(f"{v} % 2 == 0" for v in loop_vars), "len(d) > 1"]
            )
        )
        body = _block(draw, g, depth + 1, loop_vars, nesting + 1)
        lines = [Line(depth, f"if {test}:"), *body]
        if draw(st.booleans()):
            lines += [Line(depth, "else:"), *_block(draw, g, depth + 1, loop_vars, nesting + 1)]
        return lines
    if kind == "items":
        return _items_loop(draw, g, depth, loop_vars)
    if kind == "helper":
        name = g.fresh("helper")
        param = g.fresh("v")
        body = _call_run(draw, g, depth + 1, [param])
        loop = g.fresh("i")
        use = draw(
            st.sampled_from(
                [
                    [Line(depth, f"{name}(1)")],
                    [Line(depth, f"for {loop} in range(2):"), Line(depth + 1, f"{name}({loop})")],
                ]
            )
        )
        return [Line(depth, f"def {name}({param}):"), *body, *use]
    if kind == "comprehension":
        var = g.fresh("c")
        fluent = g.alias.spell["log_metric"]
        if not fluent:
            return _call_run(draw, g, depth, loop_vars)
        callee = draw(st.sampled_from(fluent))
        key = _key(draw, g, [var])
        return [Line(depth, f"[{callee}({key}, {var}, step={var}) for {var} in range(2)]")]
    if kind == "listdir":
        return _listdir_loop(draw, g, depth)
    if kind == "run-pair" and spell["start_run"] and spell["end_run"]:
        return _run_pair(draw, g, depth, loop_vars, nesting)
    if kind == "metric-loop":
        return _metric_loop(draw, g, depth, loop_vars)
    if kind == "client" and spell["log_metric"]:
        return _client_in_block(draw, g, depth, loop_vars)
    if kind == "try":
        body = _block(draw, g, depth + 1, loop_vars, nesting + 1)
        handler = _block(draw, g, depth + 1, loop_vars, nesting + 1)
        lines = [Line(depth, "try:"), *body, Line(depth, "except Exception:"), *handler]
        if draw(st.booleans()):
            final = [Line(depth + 1, "y = x")]
            if spell["end_run"] and draw(st.booleans()):
                final = [Line(depth + 1, f"{draw(st.sampled_from(spell['end_run']))}()")]
            lines += [Line(depth, "finally:"), *final]
        return lines
    if kind == "class" and spell["log_metric"]:
        return _trainer_class(draw, g, depth, nesting)
    if kind == "async-helper" and spell["log_metric"]:
        # defined, never called: for the static analysis only (async loops are not buffered)
        name, var = g.fresh("ahelper"), g.fresh("a")
        callee = draw(st.sampled_from(spell["log_metric"]))
        key = _key(draw, g, [var])
        return [
            Line(depth, f"async def {name}(items):"),
            Line(depth + 1, f"async for {var} in items:"),
            Line(depth + 2, f"{callee}({key}, {var}, step={var})"),
            Line(depth + 2, f"{callee}({_key(draw, g, [var])}, 1.0)"),
        ]
    return _call_run(draw, g, depth, loop_vars)


def _trainer_class(draw: st.DrawFn, g: Gen, depth: int, nesting: int) -> list[Line]:
    """A class that keeps a client in `self.client` and logs from a method's loop."""
    name, var = g.fresh("Trainer"), g.fresh("i")
    spelling = draw(st.sampled_from(g.alias.spell["log_metric"]))
    if "." in spelling:
        factory = spelling.rsplit(".", 1)[0] + ".MlflowClient"
    else:
        g.needs.add("MlflowClient")
        factory = "MlflowClient"
    key = _key(draw, g, [var])
    step = draw(st.sampled_from(["", f", step={var}"]))
    return [
        Line(depth, f"class {name}:"),
        Line(depth + 1, "def __init__(self):"),
        Line(depth + 2, f"self.client = {factory}()"),
        Line(depth + 1, "def fit(self, v):"),
        Line(depth + 2, f"for {var} in range(2):"),
        Line(depth + 3, f"self.client.log_metric(run_id, {key}, v{step})"),
        *_block(draw, g, depth + 3, [var, "v"], nesting + 2),
        Line(depth, f"{name}().fit(1)"),
    ]


def _run_pair(
    draw: st.DrawFn, g: Gen, depth: int, loop_vars: Sequence[str], nesting: int
) -> list[Line]:
    """`run = mlflow.start_run()` ... `mlflow.end_run()` without `with`: MLF302."""
    start = draw(st.sampled_from(g.alias.spell["start_run"]))
    end = draw(st.sampled_from(g.alias.spell["end_run"]))
    args = draw(st.sampled_from(["", "", "run_name='r'", "nested=True"]))
    target = draw(st.sampled_from(["", "run = ", "active = "]))
    body = _block(draw, g, depth, loop_vars, nesting + 1)
    return [Line(depth, f"{target}{start}({args})"), *body, Line(depth, f"{end}()")]


def _client_in_block(draw: st.DrawFn, g: Gen, depth: int, loop_vars: Sequence[str]) -> list[Line]:
    """`client = MlflowClient()` and its calls, often in a loop body: MLF202 (and MLF101)."""
    spelling = draw(st.sampled_from(g.alias.spell["log_metric"]))
    factory = spelling.rsplit(".", 1)[0] + ".MlflowClient" if "." in spelling else None
    if factory is None:
        g.needs.add("MlflowClient")
        factory = "MlflowClient"
    name = draw(st.sampled_from(["client", "c"]))
    args = draw(st.sampled_from(["", "", "uri", "tracking_uri=uri", "f()"]))
    lines = [Line(depth, f"{name} = {factory}({args})")]
    for _ in range(draw(st.integers(1, 2))):
        key = _key(draw, g, loop_vars)
        step = _step(draw, loop_vars)
        call = f"{name}.log_metric(run_id, {key}, {_value(draw, loop_vars, False)}"
        call += (f", step={step})" if step else ")") + draw(st.sampled_from(_SUFFIXES))
        lines.append(Line(depth, call if SEMICOLONS else call.replace(";", "")))
    return lines


def _metric_loop(draw: st.DrawFn, g: Gen, depth: int, loop_vars: Sequence[str]) -> list[Line]:
    """A training loop whose body only logs metrics, all fluent or all through the client:
    MLF101's buffering fix (inside a run) and MLF108's step fix."""
    if g.alias.client is None and not g.alias.spell["log_metric"]:
        return _call_run(draw, g, depth, loop_vars)
    var = g.fresh("step")
    header = draw(st.sampled_from([f"for {var} in range(3):", f"for {var} in range(2):"]))
    client = g.alias.client is not None and (not g.alias.spell["log_metric"] or draw(st.booleans()))
    lines = [Line(depth, header)]
    for _ in range(draw(st.integers(1, 3))):
        key = _key(draw, g, [var])
        value = _value(draw, [var], text=False)
        step = draw(st.sampled_from([None, None, None, var, f"{var} * 10", "step"]))
        if client:  # a positional fourth argument is the timestamp here
            args = [str(g.alias.client) + ".log_metric(run_id", key, value]
        else:
            args = [draw(st.sampled_from(g.alias.spell["log_metric"])) + "(" + key, value]
        if step is not None:
            args.append(draw(st.sampled_from([step, f"step={step}"])))
        lines.append(Line(depth + 1, ", ".join(args) + ")"))
    return _end_comment(draw, lines)


def _end_comment(draw: st.DrawFn, body: list[Line]) -> list[Line]:
    """Sometimes a comment at the end of a loop's last line: fixes that rewrite the loop
    must keep it, once."""
    if draw(st.integers(0, 2)):
        return body
    last = body[-1]
    return [*body[:-1], Line(last.depth, last.text + "  # end of loop")]


def _items_loop(draw: st.DrawFn, g: Gen, depth: int, loop_vars: Sequence[str]) -> list[Line]:
    """`for k, v in D.items(): mlflow.log_param(k, v)`: MLF105's pattern, and near misses."""
    fluent_name = draw(st.sampled_from(["log_param", "log_metric", "set_tag"]))
    spellings = g.alias.spell[fluent_name]
    if not spellings:
        return _call_run(draw, g, depth, loop_vars)
    callee = draw(st.sampled_from(spellings))
    key, value = g.fresh("k"), g.fresh("v")
    mapping = draw(st.sampled_from(["d", "params", '{"p": 1, "q": 2}', "dict(d)", "empty"]))
    if mapping.startswith("{"):
        g.keys.update({"p", "q"})
    extra = ""
    if fluent_name == "log_metric":
        extra = draw(st.sampled_from(["", ", step=step", ", step=1", f", step={key}"]))
    call = f"{callee}({key}, {value}{extra})"
    header = f"for {key}, {value} in {mapping}.items():"
    if draw(st.integers(0, 3)) == 0:
        lines = [Line(depth, f"{header} {call}")]
    else:
        suffix = draw(st.sampled_from(_SUFFIXES))
        if suffix == ";" and not SEMICOLONS:
            suffix = ""
        lines = [Line(depth, header), Line(depth + 1, call + suffix)]
    if draw(st.integers(0, 4)) == 0:
        # the loop variable read after the loop: the fix must not remove its binding (safely)
        lines.append(Line(depth, f"last_key = {key} if {mapping} else None"))
    return lines


def _listdir_loop(draw: st.DrawFn, g: Gen, depth: int) -> list[Line]:
    """`for f in os.listdir(d): mlflow.log_artifact(os.path.join(d, f), ...)`: MLF107."""
    spellings = g.alias.spell["log_artifact"]
    if not spellings and g.alias.client is None:
        return _call_run(draw, g, depth, [])
    var = g.fresh("f")
    artifact_path = draw(st.sampled_from(["", ", 'plots'", ", artifact_path='out'"]))
    if spellings and (g.alias.client is None or draw(st.booleans())):
        callee, run = draw(st.sampled_from(spellings)), ""
    else:
        callee, run = f"{g.alias.client}.log_artifact", "run_id, "
    if draw(st.booleans()):
        g.needs.add("os")
        header = draw(
            st.sampled_from(
                [f"for {var} in os.listdir(dirname):", f"for {var} in sorted(os.listdir(dirname)):"]
            )
        )
        path = f"os.path.join(dirname, {var})"
    else:
        g.needs.add("Path")
        header = f"for {var} in Path(dirname).iterdir():"
        path = draw(st.sampled_from([var, f"str({var})"]))
    return [Line(depth, header), Line(depth + 1, f"{callee}({run}{path}{artifact_path})")]


@dataclass(frozen=True)
class Snippet:
    setup: list[Line]  # imports and the client
    body: list[Line]
    late: list[Line]  # imports after the calls
    keys: frozenset[str]


@st.composite
def snippets(draw: st.DrawFn, focus: tuple[str, ...] = (), client_odds: int = 4) -> Snippet:
    """MLflow logging code: imports (`setup`), statements (`body`), late imports; half the
    time the whole body runs inside `with mlflow.start_run():`, as a training script's does."""
    g = Gen(draw(aliases(client_odds)), focus=focus)
    starts = g.alias.spell["start_run"]
    if starts and draw(st.booleans()):  # a training script: everything in one run
        body = [Line(0, f"with {draw(st.sampled_from(starts))}() as run:")]
        body += _block(draw, g, 1, [], 1)
    else:
        body = _block(draw, g, 0, [], 0)
    setup = [Line(0, s) for s in g.alias.setup]
    if "os" in g.needs:
        setup.insert(0, Line(0, "import os"))
    if "Path" in g.needs:
        setup.insert(0, Line(0, "from pathlib import Path"))
    if "MlflowClient" in g.needs:
        setup.append(Line(0, "from mlflow import MlflowClient"))
    return Snippet(setup, body, [Line(0, s) for s in g.alias.late], frozenset(g.keys))


# --- self-contained programs that can run against the recording stub -----------------------------
PREAMBLE = """\
import os
loss = 0.25
acc = 0.75
x = 3
step = 5
flag = True
key = "dynamic"
d = {"p": 1, "q": 2}
params = {"alpha": 0.1, "beta": "b"}
empty = {}
run_id = "r-0"
uri = "file:///tmp/unused"
dirname = DIRNAME
_count = [0]


def f():
    _count[0] += 1
    return _count[0]


class _Tensor:
    def item(self):
        return 0.5


t = _Tensor()
"""


@dataclass(frozen=True)
class Program:
    text: str
    keys: frozenset[str]

    @property
    def data(self) -> bytes:
        return self.text.encode("utf-8")


@st.composite
def executable_programs(
    draw: st.DrawFn, focus: tuple[str, ...] = (), client_odds: int = 4
) -> Program:
    """A preamble defining every name snippets use, then a snippet; `focus` favours some
    statement kinds ("metric-loop", "listdir", ...)."""
    snippet = draw(snippets(focus=focus, client_odds=client_odds))
    unit = draw(st.sampled_from(["    ", "  ", "\t"]))
    preamble = PREAMBLE.replace("DIRNAME", repr(artifact_dir()))
    text = preamble + render([*snippet.setup, *snippet.body, *snippet.late], "", unit)
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    return Program(text.replace("\n", newline), snippet.keys)


@lru_cache(maxsize=1)
def artifact_dir() -> str:
    """A directory with three small files, for the listdir / iterdir loops."""
    directory = tempfile.mkdtemp(prefix="mlflow-lint-mutations-")
    for name in ("a.txt", "b.txt", "c.md"):
        Path(directory, name).write_text(name)
    return directory


# --- base programs --------------------------------------------------------------------------------
def _skeleton_block(depth: int) -> st.SearchStrategy[list[Line]]:
    leaf = st.sampled_from(["pass", "x = 1", "y = x + 1", "print(x)", "..."])
    statement: st.SearchStrategy[list[Line]] = leaf.map(lambda s: [Line(depth, s)])
    if depth < 3:
        inner = st.deferred(lambda: _skeleton_block(depth + 1))
        headers = st.sampled_from(
            [
                "def fn(a, b=1):",
                "async def afn():",
                "class K:",
                "for item in items:",
                "while x < 3:",
                "with open(path) as handle:",
                "if x:",
                "try:",
            ]
        )
        compound = st.tuples(headers, inner, inner).map(
            lambda t: _compound(depth, t[0], t[1], t[2])
        )
        statement = st.one_of(statement, compound)
    return st.lists(statement, min_size=1, max_size=3).map(lambda ls: [x for s in ls for x in s])


def _compound(depth: int, header: str, body: list[Line], other: list[Line]) -> list[Line]:
    lines = [Line(depth, header), *body]
    if header == "try:":
        lines += [Line(depth, "except Exception:"), *other, Line(depth, "finally:"), *other]
    elif header == "if x:":
        lines += [Line(depth, "elif y:"), *other, Line(depth, "else:"), *other]
    elif header.startswith("class"):
        lines = [Line(depth, "@decorator"), *lines]
    return lines


def skeletons() -> st.SearchStrategy[str]:
    """Small programs made of nested blocks: many insertion points of every kind."""
    header = st.sampled_from(["", '"""Docstring."""\n', "from __future__ import annotations\n"])
    unit = st.sampled_from(["    ", "\t", "  "])
    return st.builds(lambda h, b, u: h + render(b, "", u), header, _skeleton_block(0), unit)


@lru_cache(maxsize=1)
def real_files() -> tuple[Path, ...]:
    """Real Python files to mutate: the rules' examples, the end-to-end scripts, and a fixed
    sample of MLflow's own package and of other installed packages (small files only)."""
    import sysconfig

    files = sorted(ROOT.glob("rules/*/*.py")) + sorted(ROOT.glob("tests/scripts/*.py"))
    site = Path(sysconfig.get_paths()["purelib"])
    mlflow_files = sorted(p for p in (site / "mlflow").rglob("*.py") if _small(p))
    files += mlflow_files[:: max(1, len(mlflow_files) // 40)]
    for package in ("click", "libcst", "hypothesis", "flake8", "requests", "yaml"):
        found = sorted(p for p in (site / package).rglob("*.py") if _small(p))
        files += found[:: max(1, len(found) // 5)]
    return tuple(files)


def _small(path: Path) -> bool:
    try:
        return 200 < path.stat().st_size < 8_000
    except OSError:
        return False


@lru_cache(maxsize=256)
def read_source(path: Path) -> Optional[tuple[str, str]]:
    """(text, encoding) of a real file, or None when it cannot be decoded or parsed."""
    try:
        source = decode(path.read_bytes())
        ast.parse(source.text)
    except (OSError, SourceError, SyntaxError, ValueError):
        return None
    return source.text, source.encoding


# --- insertion ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """Where a snippet can go: before a statement, or after the last one of a block."""

    offset: int
    indent: str
    top: bool  # in the module body


@lru_cache(maxsize=256)
def insertion_points(text: str) -> tuple[Point, ...]:
    try:
        module = cst.parse_module(text)
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    except Exception:  # libcst cannot parse some generated programs: insert at the top only
        return (Point(0, "", True),)
    starts = line_starts(text)
    points: list[Point] = []

    def first_line(statement: cst.CSTNode) -> int:
        decorators = getattr(statement, "decorators", ())
        node = decorators[0] if decorators else statement
        return positions[node].start.line

    def add_block(statements: Sequence[cst.CSTNode], top: bool) -> None:
        skip = 0
        if top:  # never before `from __future__ import ...`
            for index, statement in enumerate(statements):
                if _is_future_import(statement):
                    skip = index + 1
        indent = ""
        for statement in statements[skip:]:
            line = first_line(statement)
            begin = starts[line - 1]
            indent = text[begin : begin + positions[statement].start.column]
            if indent.strip(" \t"):
                return  # a statement after a form feed or `;`: leave this block alone
            points.append(Point(begin, indent, top))
        if statements:
            last_line = positions[statements[-1]].end.line
            if last_line < len(starts):
                points.append(Point(starts[last_line], indent, top))
            else:
                points.append(Point(len(text), indent, top))
        elif top:
            points.append(Point(len(text), "", True))

    add_block(module.body, True)
    for node in _blocks(module):
        add_block(node.body, False)
    return tuple(points)


def _is_future_import(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom)
        and isinstance(s.module, cst.Name)
        and s.module.value == "__future__"
        for s in statement.body
    )


def _blocks(root: cst.CSTNode) -> Iterable[cst.IndentedBlock]:
    todo: list[cst.CSTNode] = [root]
    while todo:
        node = todo.pop()
        if isinstance(node, cst.IndentedBlock):
            yield node
        todo.extend(node.children)


@dataclass(frozen=True)
class Mutant:
    text: str
    encoding: str
    keys: frozenset[str]
    base: str

    @property
    def data(self) -> bytes:
        return self.text.encode(self.encoding)


def insert(text: str, point: Point, code: str) -> str:
    before = text[: point.offset]
    if before and not before.endswith(("\n", "\r")):
        before += "\n"  # the last line has no line break
    return before + code + text[point.offset :]


@st.composite
def mutants(draw: st.DrawFn, bases: st.SearchStrategy[tuple[str, str, str]]) -> Mutant:
    """Snippets inserted into a base program: `bases` yields (text, encoding, label)."""
    text, encoding, label = draw(bases)
    points = insertion_points(text)
    unit = draw(st.sampled_from(["    ", "\t", "  "]))
    edits: list[tuple[Point, str]] = []
    keys: set[str] = set()
    for _ in range(draw(st.integers(1, 3))):
        snippet = draw(snippets())
        keys |= snippet.keys
        point = draw(st.sampled_from(points))
        top_points = [p for p in points if p.top]
        star = any(line.text.endswith("import *") for line in snippet.setup)
        if top_points and not point.top and (star or draw(st.booleans())):
            # imports at the top of the module, calls inside a block
            edits.append((top_points[0], render(snippet.setup, "", unit)))
            lines = [*snippet.body, *snippet.late]
        else:
            lines = [*snippet.setup, *snippet.body, *snippet.late]
        edits.append((point, render(lines, point.indent, unit)))
    # apply from the end so earlier offsets stay valid; at one offset (the end of a block and
    # the statement after it) the deeper insertion must come first: insert it last
    edits.sort(key=lambda e: (e[0].offset, -len(e[0].indent)), reverse=True)
    for point, code in edits:
        text = insert(text, point, code)
    newline = draw(st.sampled_from(["keep", "keep", "crlf", "lf"]))
    if newline == "crlf":
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    elif newline == "lf":
        text = text.replace("\r\n", "\n")
    return Mutant(text, encoding, frozenset(keys), label)


def real_bases() -> st.SearchStrategy[tuple[str, str, str]]:
    readable = [p for p in real_files() if read_source(p) is not None]

    def load(path: Path) -> tuple[str, str, str]:
        found = read_source(path)
        assert found is not None
        return found[0], found[1], str(path)

    return st.sampled_from(readable).map(load)


def generated_bases() -> st.SearchStrategy[tuple[str, str, str]]:
    return st.one_of(
        skeletons().map(lambda s: (s, "utf-8", "skeleton")),
        hypothesmith.from_grammar().map(lambda s: (s, "utf-8", "hypothesmith.from_grammar")),
        st.just(("", "utf-8", "empty")),
    )


# --- notebooks -------------------------------------------------------------------------------
MAGICS = (
    "%matplotlib inline",
    "!pip install mlflow",
    "x = %time f()",
    "files = !ls",
    "?mlflow",
    "mlflow.log_metric?",
    "%load_ext autoreload",
    "%%time",
    "%%bash",
)


@st.composite
def notebook_cells(draw: st.DrawFn) -> str:
    """A code cell: a logging snippet, or only its imports or only its calls (so names come
    from other cells), sometimes with a magic."""
    snippet = draw(snippets())
    unit = draw(st.sampled_from(["    ", "\t"]))
    part = draw(st.sampled_from(["all", "all", "setup", "body"]))
    lines = {
        "all": [*snippet.setup, *snippet.body, *snippet.late],
        "setup": snippet.setup,
        "body": snippet.body,
    }[part]
    code = render(lines, "", unit)
    if draw(st.integers(0, 2)) == 0:
        lines = code.split("\n")
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(MAGICS)))
        code = "\n".join(lines)
    return code.rstrip("\n") if draw(st.booleans()) else code


@st.composite
def notebooks(draw: st.DrawFn) -> bytes:
    """A Jupyter notebook (nbformat 4) of such cells, serialised in one of several styles."""
    cells = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["code", "code", "code", "markdown", "raw"]))
        code = draw(notebook_cells())
        cell: dict[str, Any] = {
            "cell_type": kind,
            "metadata": {},
            "source": code.splitlines(keepends=True) if draw(st.booleans()) else code,
        }
        if kind == "code":
            cell["outputs"] = []
            cell["execution_count"] = draw(st.none() | st.integers(0, 5))
        cells.append(cell)
    metadata = draw(
        st.sampled_from(
            [{}, {"language_info": {"name": "python"}}, {"kernelspec": {"language": "R"}}]
        )
    )
    document = {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}
    indent = draw(st.sampled_from([None, 1, 2]))
    return json.dumps(document, indent=indent, ensure_ascii=draw(st.booleans())).encode()


# --- oracles --------------------------------------------------------------------------------------
def string_constants(text: str) -> Counter[str]:
    """Every str constant in the module (implicit concatenations folded, as ast does)."""
    return Counter(
        node.value
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def comments(text: str) -> Counter[str]:
    """The comments of `text`, one count each: a merged call keeps the comments of several
    arguments of one entry on that entry's line (`# a  # b`), which counts as both."""
    found: Counter[str] = Counter()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            for part in re.split(r"\s{2}(?=#)", token.string.rstrip()):
                found[part.rstrip()] += 1
    return found


def _call_name(node: ast.AST) -> Optional[str]:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _mentions_logging(node: ast.AST) -> bool:
    return any(_call_name(inner) in LOGGING_NAMES for inner in ast.walk(node))


class _RunsAndClients(ast.NodeTransformer):
    """Undo what the safe lifecycle fixes move around: `with mlflow.start_run():` blocks are
    replaced by their body, and `start_run()` / `end_run()` / `MlflowClient()` statements are
    dropped (MLF302 turns a start/end pair into a with block, MLF202 hoists a client)."""

    RUN_NAMES = frozenset({"start_run", "end_run", SHORT["start_run"], SHORT["end_run"]})

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                flat = [s for statement in block for s in self._flatten(statement)]
                setattr(node, name, flat or [ast.Pass()])
        return node

    def _flatten(self, statement: ast.stmt) -> list[ast.stmt]:
        if isinstance(statement, ast.With) and any(
            _call_name(item.context_expr) in self.RUN_NAMES for item in statement.items
        ):
            return statement.body
        value = getattr(statement, "value", None)
        if isinstance(statement, (ast.Expr, ast.Assign)) and (
            _call_name(value) in self.RUN_NAMES or _call_name(value) == "MlflowClient"
        ):
            return []
        return [statement]


def other_top_level_statements(text: str) -> list[str]:
    """The module's top-level statements that make no logging call and import nothing from
    mlflow, as ast dumps, once runs and client constructions are normalised away: a safe fix
    rewrites logging statements (and imports the entities it writes) only, so this list must
    not change."""
    module = _RunsAndClients().visit(ast.parse(text))
    return [
        ast.dump(s) for s in module.body if not _mentions_logging(s) and not _imports_from_mlflow(s)
    ]


def _imports_from_mlflow(statement: ast.stmt) -> bool:
    """`from mlflow.entities import Param`: what a fix adds for the entities it writes."""
    return isinstance(statement, ast.ImportFrom) and (statement.module or "").startswith("mlflow")


# --- the recording stand-in for mlflow ------------------------------------------------------------
class _Info:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id


class FakeRun:
    def __init__(self, fake: FakeMlflow, run_id: str) -> None:
        self.info = _Info(run_id)
        self._fake = fake

    def __enter__(self) -> FakeRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fake.end_run()


@lru_cache(maxsize=1)
def _signatures() -> dict[str, inspect.Signature]:
    import mlflow

    found = {name: inspect.signature(getattr(mlflow, name)) for name in (*FLUENT, "end_run")}
    for name in (
        "log_metric",
        "log_param",
        "set_tag",
        "log_batch",
        "log_artifact",
        "log_artifacts",
    ):
        signature = inspect.signature(getattr(mlflow.MlflowClient, name))
        found["client." + name] = signature.replace(
            parameters=list(signature.parameters.values())[1:]
        )
    return found


class FakeMlflow:
    """Records what a program logs; fluent calls without an active run start one, as MLflow's
    do, and `start_run` with a run already active raises, as MLflow's does (unless nested)."""

    def __init__(self) -> None:
        self.metrics: Counter[tuple[str, str, Any, int]] = Counter()
        self.params: Counter[tuple[str, str, str]] = Counter()
        self.tags: dict[tuple[str, str], Any] = {}
        self.artifacts: Counter[tuple[str, str, Optional[str]]] = Counter()
        self.runs: list[tuple[str, bool]] = []  # (run id, started implicitly)
        self.stack: list[FakeRun] = []

    # bookkeeping
    def _bind(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = _signatures()[name].bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    def _run(self) -> str:
        if not self.stack:
            self._start(implicit=True)
        return self.stack[-1].info.run_id

    def _start(self, implicit: bool) -> FakeRun:
        run = FakeRun(self, f"run-{len(self.runs) + 1}")
        self.runs.append((run.info.run_id, implicit))
        self.stack.append(run)
        return run

    def _metric(self, run: str, key: str, value: Any, step: Optional[int]) -> None:
        self.metrics[(run, key, value, step or 0)] += 1

    def _artifacts_of(self, run: str, local_dir: Any, artifact_path: Optional[str]) -> None:
        for name in sorted(os.listdir(local_dir)):
            self.artifacts[(run, name, artifact_path)] += 1

    # the fluent API
    def log_metric(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("log_metric", args, kwargs)
        self._metric(a.get("run_id") or self._run(), a["key"], a["value"], a.get("step"))

    def log_metrics(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("log_metrics", args, kwargs)
        run = a.get("run_id") or self._run()
        for key, value in a["metrics"].items():
            self._metric(run, key, value, a.get("step"))

    def log_param(self, *args: Any, **kwargs: Any) -> Any:
        a = self._bind("log_param", args, kwargs)
        self.params[(self._run(), a["key"], str(a["value"]))] += 1
        return a["value"]

    def log_params(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("log_params", args, kwargs)
        run = a.get("run_id") or self._run()
        for key, value in a["params"].items():
            self.params[(run, key, str(value))] += 1

    def set_tag(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("set_tag", args, kwargs)
        self.tags[(self._run(), a["key"])] = str(a["value"])

    def set_tags(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("set_tags", args, kwargs)
        run = self._run()
        for key, value in a["tags"].items():
            self.tags[(run, key)] = str(value)

    def log_artifact(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("log_artifact", args, kwargs)
        name = os.path.basename(os.fspath(a["local_path"]))
        self.artifacts[(a.get("run_id") or self._run(), name, a.get("artifact_path"))] += 1

    def log_artifacts(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("log_artifacts", args, kwargs)
        self._artifacts_of(a.get("run_id") or self._run(), a["local_dir"], a.get("artifact_path"))

    def start_run(self, *args: Any, **kwargs: Any) -> FakeRun:
        a = self._bind("start_run", args, kwargs)
        if self.stack and not a.get("nested"):
            raise RuntimeError("Run is already active; use nested=True")
        return self._start(implicit=False)

    def end_run(self, *args: Any, **kwargs: Any) -> None:
        self._bind("end_run", args, kwargs)
        if self.stack:
            self.stack.pop()

    def active_run(self) -> Optional[FakeRun]:
        return self.stack[-1] if self.stack else None

    def MlflowClient(self, *args: Any, **kwargs: Any) -> FakeClient:
        return FakeClient(self)

    def module(self) -> Any:
        import types

        import mlflow.entities

        module = types.ModuleType("mlflow")
        names = [*FLUENT, "end_run", "active_run", "MlflowClient"]
        for name in names:
            setattr(module, name, getattr(self, name))
        module.entities = mlflow.entities  # type: ignore[attr-defined]
        module.__all__ = names  # type: ignore[attr-defined]
        return module

    def record(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "params": self.params,
            "tags": self.tags,
            "artifacts": self.artifacts,
            "runs": self.runs,
        }


class FakeClient:
    def __init__(self, fake: FakeMlflow) -> None:
        self._fake = fake

    def _bind(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        return self._fake._bind("client." + name, args, kwargs)

    def log_metric(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("log_metric", args, kwargs)
        self._fake._metric(a.get("run_id"), a["key"], a["value"], a.get("step"))

    def log_param(self, *args: Any, **kwargs: Any) -> Any:
        a = self._bind("log_param", args, kwargs)
        self._fake.params[(a.get("run_id"), a["key"], str(a["value"]))] += 1
        return a["value"]

    def set_tag(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("set_tag", args, kwargs)
        self._fake.tags[(a.get("run_id"), a["key"])] = str(a["value"])

    def log_batch(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("log_batch", args, kwargs)
        for metric in a["metrics"]:
            self._fake._metric(a.get("run_id"), metric.key, metric.value, metric.step)
        for param in a["params"]:
            self._fake.params[(a.get("run_id"), param.key, str(param.value))] += 1
        for tag in a["tags"]:
            self._fake.tags[(a.get("run_id"), tag.key)] = str(tag.value)

    def log_artifact(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("log_artifact", args, kwargs)
        name = os.path.basename(os.fspath(a["local_path"]))
        self._fake.artifacts[(a.get("run_id"), name, a.get("artifact_path"))] += 1

    def log_artifacts(self, *args: Any, **kwargs: Any) -> None:
        a = self._bind("log_artifacts", args, kwargs)
        self._fake._artifacts_of(a.get("run_id"), a["local_dir"], a.get("artifact_path"))


def run_recorded(text: str) -> dict[str, Any]:
    """Execute a program with `mlflow` replaced by a FakeMlflow; what it logged, and the
    exception it ended with (type and message) if any."""
    fake = FakeMlflow()
    module = fake.module()
    real_import: Callable[..., Any] = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "mlflow":
            return module
        return real_import(name, *args, **kwargs)

    namespace: dict[str, Any] = {
        "__builtins__": {**vars(builtins), "__import__": fake_import},
        "__name__": "__mutant__",
    }
    error: Optional[str] = None
    try:
        exec(compile(text, "<mutant>", "exec"), namespace)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    return {**fake.record(), "error": error}


# --- the engine-level properties, shared by the property and mutation tests ----------------------
PATH = "mutant.py"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def line_breaks(text: str) -> set[str]:
    """The kinds of line break in `text` ("\\r\\n", "\\r", "\\n"), as Python splits lines."""
    return set(_LINE_BREAK.findall(text))


def is_internal(error: Optional[FileError]) -> bool:
    return error is not None and error.message.startswith("internal error")


def fix_and_verify(data: bytes, settings: Settings, path: str = PATH) -> Optional[str]:
    """Check and fix `data` with `settings` and assert what must hold for any input: neither
    raises, an error is never an internal one and comes from both or neither, a fix re-parses
    with libcst and ast, keeps the line breaks of a file that uses one kind throughout, and
    fixing is idempotent (fixing again changes nothing, checking the fixed code finds nothing
    the fixer would still fix). For a notebook (`path` ending in
    .ipynb) the fixed file must be JSON and fixing it again must change nothing (check may
    offer fixes that fix refuses in a notebook: across cells, or touching a magic). Returns
    the fixed text, or None when nothing changed or the input itself could not be checked."""
    notebook = path.endswith(".ipynb")
    checked = dispatch.check_source(data, path, settings)
    result, new_data = dispatch.fix_source(data, path, settings)
    assert not is_internal(checked.error), checked.error
    assert not is_internal(result.error), result.error
    assert (checked.error is None) == (result.error is None), (checked.error, result.error)
    fixable = [v for v in checked.violations if engine.applicable(v, settings.unsafe_fixes)]
    if new_data is None:
        assert notebook or result.error is not None or not fixable, (
            "check offers fixes that fix did not apply",
            fixable,
        )
        return None
    assert result.changed and result.fixed > 0 and fixable
    text = decode(new_data).text if not notebook else new_data.decode("utf-8")
    if notebook:
        json.loads(text)
    else:
        cst.parse_module(text)
        ast.parse(text)
        breaks = line_breaks(decode(data).text)
        if len(breaks) == 1:
            assert line_breaks(text) <= breaks, f"line breaks {breaks} became {line_breaks(text)}"
    again, newer = dispatch.fix_source(new_data, path, settings)
    assert again.error is None, again.error
    assert newer is None, "fixing the fixed code changed it again:\n" + again.diff
    rechecked = dispatch.check_source(new_data, path, settings)
    assert rechecked.error is None, rechecked.error
    left = [v for v in rechecked.violations if engine.applicable(v, settings.unsafe_fixes)]
    assert notebook or not left, left
    return text
