"""MLF101-MLF104 fixes never merge calls that repeat a key and never reorder evaluation.

Found in an audit of the merge fixes:

1. MLF102/MLF103/MLF104 detected only repeated string-literal keys, so
   `log_param(k, 1); log_param(k, 2)` became `log_params({k: 1, k: 2})`, which hides MLflow's
   "Changing param values is not allowed" error (a dict keeps the last value), and
   `log_metric(key, 1); log_metric(key, 2)` lost a metric point. Calls whose keys are the same
   code are now reported without a fix, whatever the expression.
2. `log_metric(value=v(), key=k())` evaluates v() first; the merged dict `{k(): v()}`
   evaluates k() first. Calls that write their arguments in another order than the merged
   call (or MLF101's rebuilt `Metric(key, value, timestamp, step)`) evaluates them, while one
   of them has side effects, are reported without a fix.
3. Where a fix is still offered, the fixed code runs against a fake `mlflow` module and must
   evaluate the same expressions in the same order and log the same things.
"""

from __future__ import annotations

import sys
import textwrap
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

import pytest

from mlflow_lint import engine
from mlflow_lint.config import build_settings

IMPORT = "import mlflow\n"
# The calls run once per step: where MLF102-MLF104 report two calls (a script's own code runs
# once per run, and fewer than ten calls there are not reported; an epoch loop, fewer than
# five).
HEAD = IMPORT + "for step in range(3):\n"


def program(body: str) -> str:
    """`body`, the calls, in the step loop."""
    return HEAD + textwrap.indent(body, "    ")


def violations(source: str, code: str) -> list[Any]:
    settings = build_settings(None, select=[code], unsafe_fixes=True)
    return [
        v
        for v in engine.analyze(source, "t.py", settings.rules_for("t.py"), settings)
        if v.code == code
    ]


def fixed(source: str, code: str, unsafe: bool = True) -> Optional[str]:
    settings = build_settings(None, select=[code], unsafe_fixes=unsafe)
    result, new = engine.fix_source(source.encode(), "t.py", settings)
    assert result.error is None, result.error
    return new.decode() if new is not None else None


# --- a fake mlflow that records what is logged, and the program's evaluations, in order -----
class FakeMlflowError(Exception):
    pass


def fake_mlflow(events: list[Any]) -> types.ModuleType:
    """The fluent calls the rules rewrite, plus what MLF101's buffering uses. Every logged item
    is a tuple in `events`; a param logged again with another value raises, as MLflow does."""
    module = types.ModuleType("mlflow")
    run_id = "run-1"
    params: dict[str, Any] = {}

    def param(key: str, value: Any) -> None:
        if key in params and str(params[key]) != str(value):
            raise FakeMlflowError(f"Changing param values is not allowed: {key!r}")
        params[key] = value
        events.append(("param", key, value))

    def log_metric(key, value, step=None, synchronous=None, timestamp=None, run_id=run_id):
        events.append(("metric", run_id, key, value, step or 0))

    def log_metrics(metrics, step=None, synchronous=None, run_id=run_id, timestamp=None):
        for key, value in metrics.items():
            events.append(("metric", run_id, key, value, step or 0))

    def log_param(key, value, synchronous=None):
        param(key, value)
        return value

    def log_params(values, synchronous=None, run_id=None):
        for key, value in values.items():
            param(key, value)

    def set_tag(key, value, synchronous=None):
        events.append(("tag", key, value))

    def set_tags(tags, synchronous=None):
        for key, value in tags.items():
            events.append(("tag", key, value))

    @contextmanager
    def start_run(**kwargs: Any) -> Iterator[Any]:
        yield active_run()

    def active_run() -> Any:
        return types.SimpleNamespace(info=types.SimpleNamespace(run_id=run_id))

    class Metric:
        def __init__(self, key, value, timestamp, step):
            self.key, self.value, self.timestamp, self.step = key, value, timestamp, step

    class MlflowClient:
        def log_batch(self, run_id, metrics=(), params=(), tags=(), synchronous=None):
            for m in metrics:
                events.append(("metric", run_id, m.key, m.value, m.step or 0))

    for function in (log_metric, log_metrics, log_param, log_params, set_tag, set_tags):
        setattr(module, function.__name__, function)
    module.start_run = start_run
    module.active_run = active_run
    module.MlflowClient = MlflowClient
    module.entities = types.SimpleNamespace(Metric=Metric)
    return module


def run(source: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Execute `source` against the fake mlflow: the program's own evaluations in order
    (`f(name, result)` records `name`), what was logged in order, and the error it ended with."""
    events: list[Any] = []

    def f(name: str, result: Any) -> Any:
        events.append(name)
        return result

    counter = iter(range(100, 200))
    namespace: dict[str, Any] = {
        "f": f,
        "counter": counter,
        "k": "key_k",
        "j": "key_j",
        "x": 1.5,
        "y": 2.5,
        "name": "loss",
        "cfg": types.SimpleNamespace(name="cfg_key"),
    }
    error = None
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "mlflow", fake_mlflow(events))
        try:
            exec(compile(source, "<program>", "exec"), namespace)
        except FakeMlflowError as exc:
            error = str(exc)
    return {
        "evaluated": [e for e in events if isinstance(e, str)],
        "logged": [e for e in events if isinstance(e, tuple)],
        "error": error,
    }


def assert_same_run(source: str, new: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = run(source, monkeypatch), run(new, monkeypatch)
    assert after == before, new


# --- 1. keys that are the same code ---------------------------------------------------------
REPEATED = [
    ("MLF103", "mlflow.log_param(k, 1)\nmlflow.log_param(k, 2)\n", "`k`"),
    ("MLF102", "mlflow.log_metric(k, 1)\nmlflow.log_metric(k, 2)\n", "`k`"),
    (
        "MLF102",
        'mlflow.log_metric(name + "_x", 1)\nmlflow.log_metric(name+"_x", 2)\n',
        '`name + "_x"`',
    ),
    ("MLF102", "mlflow.log_metric(key=k, value=1)\nmlflow.log_metric((k), 2)\n", "`k`"),
    ("MLF103", "mlflow.log_param(k, 1)\nmlflow.log_param(j, 2)\nmlflow.log_param(k, 3)\n", "`k`"),
    ("MLF104", 'mlflow.set_tag(k, "a")\nmlflow.set_tag(k, "b")\n', "`k`"),
    ("MLF104", 'mlflow.set_tag(cfg.name, "a")\nmlflow.set_tag(cfg.name, "b")\n', "`cfg.name`"),
    # an impure key is the same code too: not merged either, whatever it evaluates to
    ("MLF103", 'mlflow.log_param(f("k", "a"), 1)\nmlflow.log_param(f("k", "a"), 2)\n', None),
    # repeated literals, however they are spelled, stay refused
    ("MLF102", "mlflow.log_metric(\"a\", 1)\nmlflow.log_metric('a', 2)\n", "'a'"),
    ("MLF104", 'mlflow.set_tag("a", "1")\nmlflow.set_tag("a" "", "2")\n', "'a'"),
]


@pytest.mark.parametrize("code, body, shown", REPEATED)
def test_calls_that_repeat_a_key_are_reported_without_a_fix(
    code: str, body: str, shown: Optional[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = program(body)
    [violation] = violations(source, code)
    assert violation.line == 3
    assert "repeat the key" in violation.message
    if shown is not None:
        assert violation.message.endswith(f"repeat the key {shown}")
    assert violation.fix is None
    assert fixed(source, code, unsafe=True) is None


def test_repeated_param_key_keeps_mlflows_error(monkeypatch: pytest.MonkeyPatch) -> None:
    source = program("mlflow.log_param(k, 1)\nmlflow.log_param(k, 2)\n")
    assert run(source, monkeypatch)["error"] is not None
    assert fixed(source, "MLF103", unsafe=True) is None


def test_different_key_code_still_merges() -> None:
    metrics = program("mlflow.log_metric(k, 1)\nmlflow.log_metric(j, 2)\n")
    assert fixed(metrics, "MLF102", unsafe=False) is None  # k and j could be equal
    assert fixed(metrics, "MLF102") == program("mlflow.log_metrics({k: 1, j: 2})\n")
    tags = program('mlflow.set_tag(k, "a")\nmlflow.set_tag(j, "b")\n')
    assert fixed(tags, "MLF104", unsafe=False) == program('mlflow.set_tags({k: "a", j: "b"})\n')


# --- 2. evaluation order ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "code, body",
    [
        (
            "MLF102",
            'mlflow.log_metric(value=f("v1", 1), key=f("k1", "a"))\n'
            'mlflow.log_metric(value=f("v2", 2), key=f("k2", "b"))\n',
        ),
        # only the second call is out of order, and only its value has side effects
        (
            "MLF102",
            'mlflow.log_metric("a", 1)\nmlflow.log_metric(value=f("v2", 2), key="b")\n',
        ),
        # the step comes first, before a key with side effects
        (
            "MLF102",
            'mlflow.log_metric(step=1, key=f("k1", "a"), value=1)\n'
            'mlflow.log_metric("b", 2, step=1)\n',
        ),
        (
            "MLF103",
            'mlflow.log_param(value=f("v1", 1), key="a")\nmlflow.log_param("b", 2)\n',
        ),
        (
            "MLF104",
            'mlflow.set_tag(value="x", key=f("k1", "a"))\nmlflow.set_tag("b", "y")\n',
        ),
    ],
)
def test_value_before_key_with_side_effects_is_reported_without_a_fix(
    code: str, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = program(body)
    [violation] = violations(source, code)
    assert violation.fix is None
    assert fixed(source, code, unsafe=True) is None


def test_value_before_key_without_side_effects_merges_safely() -> None:
    source = program('mlflow.log_metric(value=x, key="a")\nmlflow.log_metric(value=y, key="b")\n')
    assert fixed(source, "MLF102", unsafe=False) == program(
        'mlflow.log_metrics({"a": x, "b": y})\n'
    )


def test_step_with_side_effects_is_never_merged() -> None:
    # evaluated once per call before, once after merging: the calls are not even grouped
    source = program('mlflow.log_metric("a", 1, step=next(counter))\n' * 2)
    assert violations(source, "MLF102") == []


# --- 3. the fixes that are offered keep the order and the values -------------------------------
OFFERED = [
    (
        "MLF102",
        'mlflow.log_metric(f("k1", "a"), f("v1", 1), step=3)\n'
        'mlflow.log_metric(key=f("k2", "b"), value=f("v2", 2), step=3)\n',
    ),
    (
        "MLF102",
        'mlflow.log_metric(value=x, key="a")\nmlflow.log_metric(value=y, key=name)\n',
    ),
    ("MLF102", "mlflow.log_metric(k, x)\nmlflow.log_metric(j, y)\n"),
    (
        "MLF103",
        'mlflow.log_param(f("k1", "a"), f("v1", 1))\nmlflow.log_param("b", f("v2", "1"))\n',
    ),
    (
        "MLF104",
        'mlflow.set_tag(key=f("k1", "a"), value=f("v1", "x"))\n'
        'mlflow.set_tag(cfg.name, f("v2", "y"))\n',
    ),
    ("MLF104", 'mlflow.set_tag(k, "x")\nmlflow.set_tag(j, "y")\n'),
]


@pytest.mark.parametrize("code, body", OFFERED)
def test_offered_merge_keeps_evaluation_order_and_values(
    code: str, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = program(body)
    new = fixed(source, code, unsafe=True)
    assert new is not None and new.count(f"mlflow.{code_batch(code)}(") == 1, new
    assert_same_run(source, new, monkeypatch)


def code_batch(code: str) -> str:
    return {"MLF102": "log_metrics", "MLF103": "log_params", "MLF104": "set_tags"}[code]


@pytest.mark.parametrize(
    "code, body",
    [(code, body) for code, body, _ in REPEATED]
    + [
        (
            "MLF102",
            'mlflow.log_metric(value=f("v1", 1), key=f("k1", "a"))\n'
            'mlflow.log_metric(value=f("v2", 2), key=f("k2", "b"))\n',
        ),
    ],
)
def test_no_fix_changes_what_runs(code: str, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the audit found, as a property: whatever fix is applied runs the same."""
    source = program(body)
    new = fixed(source, code, unsafe=True)
    if new is not None:
        assert_same_run(source, new, monkeypatch)


# --- MLF101's buffering rebuilds Metric(key, value, timestamp, step) --------------------------
def loop(call: str) -> str:
    return IMPORT + f"with mlflow.start_run():\n    for i in range(3):\n        {call}\n"


@pytest.mark.parametrize(
    "call",
    [
        'mlflow.log_metric(step=i, key=f("k", "a"), value=f("v", i))',
        'mlflow.log_metric(value=f("v", i), key="a", step=i)',
        'mlflow.log_metric("a", step=f("s", i), value=f("v", i))',
    ],
)
def test_buffering_refused_when_arguments_are_reordered_with_side_effects(call: str) -> None:
    source = loop(call)
    [violation] = violations(source, "MLF101")
    assert violation.fix is None
    assert fixed(source, "MLF101", unsafe=True) is None


@pytest.mark.parametrize(
    "call",
    [
        'mlflow.log_metric(f("k", "a"), f("v", i), step=f("s", i))',
        'mlflow.log_metric(key=f("k", "a"), value=f("v", i), step=i)',
        'mlflow.log_metric(step=i, value=x, key="a")',  # reordered, but no side effects
    ],
)
def test_buffering_keeps_evaluation_order_and_values(
    call: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = loop(call)
    new = fixed(source, "MLF101", unsafe=True)
    assert new is not None and ".log_batch(" in new, new  # buffered, or one batch of all
    assert_same_run(source, new, monkeypatch)
