"""Elision (#8): libcst parses only the definitions that can matter, and the results are
exactly those of a whole-file run.

Every check here compares `engine.analyze(..., elide=True)` with `elide=False` (the whole file
parsed and walked): the violations, their positions, messages and fix edits must be equal.
The inputs are the rules' examples, the end-to-end scripts, the same files padded with
definitions that cannot matter (so that stubs really sit between, around and after the code
that logs), hand-written cases for each way a definition can matter, and generated logging
programs (hypothesis). The site-packages sweep (test_sweep.py) compares both modes on every
installed file that mentions mlflow, MLflow's own package among them.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from conftest import RULES_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutations import executable_programs

from mlflow_lint import elision, engine
from mlflow_lint.config import build_settings
from mlflow_lint.rules import ALL_RULES

ALL = build_settings(None, select=["ALL"])
UNSAFE = build_settings(None, select=["ALL"], unsafe_fixes=True)
SCRIPTS = Path(__file__).parent / "scripts"
EXAMPLES = sorted(RULES_DIR.glob("MLF*/*.py")) + sorted(SCRIPTS.glob("*.py"))

# Definitions that cannot matter: no MLflow name, no helper, no rule word.
UNRELATED = '''
def _unrelated_{n}(a, b):
    """Sum, the slow way: a docstring that mentions mlflow.log_metric(...) does not log."""
    total = a
    for item in range(b):
        total += item
    return total


class _Unrelated{n}:
    limit = 3

    def run(self, rows):
        for row in rows:
            self.limit += len(row)
        return self.limit

    @property
    def size(self):
        return self.limit * 2
'''


def assert_same(text: str, path: str = "example.py", settings=ALL) -> list[object]:
    rules = settings.rules_for(path)
    whole = engine.analyze(text, path, rules, settings, elide=False)
    elided = engine.analyze(text, path, rules, settings, elide=True)
    assert elided == whole
    return whole


def plan_of(text: str, with_called: bool = False) -> elision.Elision | None:
    checked = engine.gate(text)
    called = checked.called if with_called else None
    words = engine._context_words(ALL_RULES)
    return elision.plan(checked.tree, checked.imports, text, words, called)


def padded(text: str) -> str:
    """`text` with unrelated definitions before, between and after its top-level statements."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    starts = sorted(
        {
            min([s.lineno, *(d.lineno for d in getattr(s, "decorator_list", []))])
            for s in ast.parse(text).body
        }
    )
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        if number in starts:
            out.append(UNRELATED.format(n=number) + "\n\n")
        out.append(line)
    out.append("\n\n" + UNRELATED.format(n="end"))
    return "".join(out)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_examples_same_as_whole_file(path: Path) -> None:
    text = path.read_text()
    assert_same(text, path.name)
    assert_same(text, path.name, UNSAFE)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_padded_examples_same_as_whole_file(path: Path) -> None:
    text = padded(path.read_text())
    plan = plan_of(text)
    assert plan is not None and len(plan.stubs) >= 2, "the padding must be elided"
    found = assert_same(text, path.name, UNSAFE)
    if path.name == "flagged.py":
        assert found, "the padding hides no finding"


def test_stub_keeps_lines_columns_and_line_endings() -> None:
    text = (
        "import mlflow\r\n\r\n@decorator(\r\n    1)\r\ndef unrelated(a,\r\n"
        "              b):\r\n    x = a\r\n    return x\r\n"
        "for i in range(3):\r\n    mlflow.log_metric('a', i)"
    )
    plan = plan_of(text)
    assert plan is not None
    (stub,) = plan.stubs
    assert (stub.first, stub.last) == (3, 8)
    stubbed = plan.apply(text)
    assert stubbed.count("\r\n") == text.count("\r\n") and not stubbed.endswith("\n")
    assert stubbed.splitlines()[2:4] == ["def unrelated():", '    """']
    assert stubbed.splitlines()[7] == '"""'
    assert stubbed.splitlines()[8:] == text.splitlines()[8:]
    assert {"a", "b", "x", "decorator"} <= plan.names


@pytest.mark.parametrize(
    "source",
    [
        # the loop calls a helper defined far away
        """
        import mlflow
        def helper(v):
            mlflow.log_metric("loss", v)
            return v
        def train():
            for i in range(10):
                helper(i)
        """,
        # a helper of a helper, and an alias of a helper
        """
        import mlflow
        def inner(v):
            mlflow.log_metric("loss", v)
            return v
        def outer(v):
            inner(v)
            return v
        log = outer
        def train():
            for i in range(10):
                log(i)
        """,
        # a module-level client, used in a function
        """
        from mlflow import MlflowClient
        client = MlflowClient()
        def train(run_id):
            for i in range(10):
                client.log_metric(run_id, "loss", i)
            return run_id
        """,
        # an attribute set in __init__, used in another method
        """
        import mlflow
        class Trainer:
            def __init__(self):
                self.tracker = mlflow.MlflowClient()
                self.run_id = "r"
            def unrelated(self, a):
                b = a + 1
                return b
            def fit(self, data):
                for x in data:
                    self.tracker.log_metric(self.run_id, "x", x)
                return data
        """,
        # a string annotation on a parameter
        """
        import mlflow
        def fit(tracker: "mlflow.MlflowClient | None", run_id):
            for x in range(3):
                tracker.log_metric(run_id, "x", x)
            return run_id
        """,
        # an alias imported inside a function only
        """
        def train():
            import mlflow as mf
            for i in range(10):
                mf.log_metric("loss", i)
            return i
        """,
        # the worker handed to a pool and the pool, in different functions
        """
        import mlflow
        from concurrent.futures import ThreadPoolExecutor
        def work(i):
            mlflow.log_metric("x", i)
            return i
        def make_pool():
            pool = ThreadPoolExecutor(4)
            return pool
        def run(pool):
            for i in range(3):
                pool.submit(work, i)
            return pool
        """,
        # the tracking URI through the environment, in an unrelated-looking function: not
        # the default sqlite one, so no MLF401
        """
        # no finding
        import mlflow
        from multiprocessing import Pool
        def configure():
            import os
            os.environ["MLFLOW_TRACKING_URI"] = "sqlite:///x.db"
            return os
        def work(i):
            mlflow.log_metric("x", i)
            return i
        def main():
            with Pool(2) as pool:
                pool.map(work, range(4))
            return pool
        """,
        # the same, in a docstring (MLF401 reads every string)
        """
        # no finding
        import mlflow
        from multiprocessing import Pool
        def configure():
            '''Set MLFLOW_TRACKING_URI before calling this.'''
            return None
        def work(i):
            mlflow.log_metric("x", i)
            return i
        def main():
            with Pool(2) as pool:
                pool.map(work, range(4))
            return pool
        """,
        # a loop variable a stubbed function reads: the MLF105 fix must stay unsafe
        """
        import mlflow
        with mlflow.start_run():
            for k, v in flatten({"a": {"b": 1}}).items():
                mlflow.log_param(k, v)
        def report():
            text = f"{k}={v}"
            return text
        """,
        # `time` used in a stubbed function only: the MLF101 fix must not import it
        """
        import mlflow
        def unrelated():
            time = 3
            return time
        with mlflow.start_run():
            for i in range(3):
                mlflow.log_metric("a", i, step=i)
        """,
        # start_run ... end_run around a definition: the MLF302 fix would move the stub
        """
        import mlflow
        run = mlflow.start_run()
        def unrelated(a):
            b = a * 2
            return b
        mlflow.log_metric("x", unrelated(2))
        mlflow.end_run()
        """,
        # shadowing in a stubbed function does not leak
        """
        import mlflow
        def unrelated():
            mlflow = None
            return mlflow
        for i in range(3):
            mlflow.log_metric("a", i)
        """,
    ],
)
def test_each_way_a_definition_matters(source: str) -> None:
    text = textwrap.dedent(source)
    found = assert_same(text, settings=UNSAFE)
    assert bool(found) != ("# no finding" in source), "each case has a finding"
    assert_same(padded(text), settings=UNSAFE)


def test_definitions_that_cannot_matter_are_stubbed() -> None:
    text = textwrap.dedent(
        """
        import mlflow
        from mlflow.entities import Metric
        from mlflow.exceptions import MlflowException

        def build(key):
            '''Use mlflow.log_metric(key, 1) to log it.'''
            metric = Metric(key, 1.0, 0, 0)
            return metric

        def check(value):
            if value is None:
                raise MlflowException("mlflow-artifacts:/ needs a value")  # mlflow
            return mlflow.entities.Metric("k", value, 0, 0)

        class Store:
            def get_run(self, run_id):
                return self.runs[run_id]

            def log_metric(self, run_id, metric):
                self.get_run(run_id).append(metric)
                return metric

        for i in range(3):
            mlflow.log_metric("a", i)
        """
    )
    plan = plan_of(text)
    assert plan is not None
    assert [s.header for s in plan.stubs] == ["def build():", "def check():", "class Store:"]
    assert_same(text)


def test_a_body_continuing_the_header_line_is_not_stubbed() -> None:
    """`class A:\\` + `pass` is one logical line with no indented block: a stub would give
    libcst another indentation unit to infer (found by the property tests)."""
    text = "class A:\\\n  \\\n\tpass\n\nimport mlflow\nfor i in range(3):\n    mlflow.log_metric('a', i)\n"
    assert plan_of(text) is None
    assert_same(text, settings=UNSAFE)


def test_stub_keeps_lone_carriage_returns_apart() -> None:
    """Blanking the line after a lone "\\r" must not make "\\r\\n" of two line breaks."""
    text = "def unrelated(a,\r  b,\r  c):\r    x = 1\n    return x\nimport mlflow\nmlflow.log_metric('a', 1)\n"
    plan = plan_of(text)
    assert plan is not None
    stubbed = plan.apply(text)
    assert elision.split_lines(stubbed)[5:] == elision.split_lines(text)[5:]
    assert len(elision.split_lines(stubbed)) == len(elision.split_lines(text))


MODULE_BY_CALL = """\
import importlib

tracking = importlib.import_module("mlflow")


def train(loader):
    for batch in loader:
        tracking.log_metric("loss", batch)
    return loader


def unrelated(a):
    b = a + 1
    return b
"""


@pytest.mark.parametrize("with_called", [False, True])
def test_no_elision_when_a_call_imports_mlflow(with_called: bool) -> None:
    """A module bound by a call can be named anything: no definition is known not to log."""
    assert plan_of(MODULE_BY_CALL, with_called) is None
    assert "MLF101" in {v.code for v in assert_same(MODULE_BY_CALL)}


def test_an_import_call_in_a_docstring_does_not_stop_elision() -> None:
    """Only code imports: with the names the file calls known, text in a string is not read."""
    text = '"""Load it with importlib.import_module("mlflow")."""\n' + PADDED_TAIL
    assert plan_of(text) is None  # the text search alone cannot tell
    assert plan_of(text, with_called=True) is not None
    assert_same(text)


PADDED_TAIL = """\
import mlflow


def unrelated(a):
    b = a + 1
    return b


mlflow.log_metric("a", 1)
"""


def test_no_elision_with_a_star_import() -> None:
    text = "from mlflow import *\n\ndef f(a):\n    x = a\n    return x\n\nlog_metric('a', 1)\n"
    assert plan_of(text) is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(program=executable_programs(), where=st.integers(0, 2**16))
def test_generated_programs_same_as_whole_file(program, where: int) -> None:
    """Generated logging programs (the mutation fuzzer's), padded at drawn statement starts."""
    text = program.text
    assert_same(text, settings=UNSAFE)
    lines = text.splitlines(keepends=True)
    starts = [s.lineno for s in ast.parse(text).body]
    cut = starts[where % len(starts)] - 1
    assert_same(
        "".join(lines[:cut]) + UNRELATED.format(n=0) + "".join(lines[cut:]), settings=UNSAFE
    )


def test_rules_only_name_fluent_functions_elision_knows() -> None:
    """Elision treats `mlflow.<name>` as able to matter only for names in
    mlflow_api.KNOWN_FLUENT_NAMES: every fluent function a rule or the engine names must be
    there (a string in their code that names a function of the real mlflow package)."""
    import mlflow

    from mlflow_lint import mlflow_api as api

    package = Path(engine.__file__).parent
    sources = [
        *sorted((package / "rules").glob("*.py")),
        package / "context.py",
        package / "fixes.py",
    ]
    unknown = {
        (path.name, node.value)
        for path in sources
        for node in _constants_but_words(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.isidentifier()
        and callable(getattr(mlflow, node.value, None))
        and node.value not in api.KNOWN_FLUENT_NAMES
    }
    assert not unknown


def _constants_but_words(tree: ast.AST) -> list[ast.AST]:
    """Every node of `tree` except those inside a `*_WORDS = ...` assignment: words a rule
    looks for in identifiers (`_RUN_WORDS`: "run" in `stop_run`), not names of MLflow functions."""
    words = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id.endswith("_WORDS") for t in node.targets)
        for inner in ast.walk(node.value)
    }
    return [node for node in ast.walk(tree) if id(node) not in words]


def gate_rules(text: str) -> set[str]:
    """The rules the ast gate keeps: a trigger name really called (or aliased, or passed as a
    keyword) and the required names present."""
    called = engine.gate(text).called
    return {
        r.code for r in ALL_RULES if r.triggers & called and (not r.requires or r.requires & called)
    }


def assert_prefilter_keeps(text: str) -> None:
    """The byte prefilter and the call-shaped trigger test skip nothing the gate would keep."""
    kept = gate_rules(text)
    if not kept or "mlflow" not in text.lower():
        return
    assert engine.may_hold_findings(text.encode(), ALL_RULES)
    assert kept <= {r.code for r in engine.applicable_rules(text, ALL_RULES)}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_prefilter_keeps_every_example(path: Path) -> None:
    text = path.read_text()
    if path.name == "flagged.py":
        assert gate_rules(text), "a flagged example calls a trigger"
    assert_prefilter_keeps(text)


@pytest.mark.parametrize(
    "source",
    [
        "import mlflow\nlm = mlflow.log_metric\nfor i in range(3):\n    lm('a', i)\n",
        "from mlflow import log_metric as lm\nfor i in range(3):\n    lm('a', i)\n",
        "import mlflow\nfor i in range(3):\n    mlflow.log_metric  (\n 'a', i)\n",
        "import mlflow\nmlflow.log_metric('a', 1, synchronous = False)\n",
        "import mlflow\nf = (mlflow.log_metric)\nf('a', 1)\n",
        "import mlflow\nf = mlflow.log_metric  # an alias\nf('a', 1)\n",
        "import mlflow\nf = mlflow.log_metric; f('a', 1)\n",
    ],
)
def test_prefilter_keeps_each_way_of_calling(source: str) -> None:
    assert gate_rules(source)
    assert_prefilter_keeps(source)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(program=executable_programs())
def test_prefilter_keeps_generated_programs(program) -> None:
    assert_prefilter_keeps(program.text)


def test_dense_logging_code_is_not_read_for_elision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where nearly every definition's code names an MLflow import, the definitions free of
    it are the most eliding could stub: under 5% of the lines, nothing is planned (reading
    each definition twice costs more than it saves). Docstrings and decorators naming MLflow
    do not make a definition dense; a definition free of MLflow is still elided."""
    logging = (
        "def train_{i}(loader):\n    for batch in loader:\n        mlflow.log_metric('l', 1)\n\n"
    )
    documented = (
        "def helper_{i}(x):\n    '''Like `mlflow.log_metric`.'''\n    y = x + 1\n    return y\n\n"
    )
    dense = "import mlflow\n\n" + "".join(logging.format(i=i) for i in range(40))
    with monkeypatch.context() as patched:
        patched.setattr(elision._Relevance, "matters", lambda *_: pytest.fail("read"))
        assert plan_of(dense) is None
    assert_same(dense)
    mixed = dense + "".join(documented.format(i=i) for i in range(10))
    found = plan_of(mixed)
    assert found is not None and len(found.stubs) == 10
    assert_same(mixed)
    # a class is counted by its methods
    in_class = "import mlflow\n\nclass Trainer:\n" + textwrap.indent(
        "".join(logging.format(i=i) for i in range(40))
        + "".join(documented.format(i=i) for i in range(10)),
        "    ",
    )
    found = plan_of(in_class)
    assert found is not None and len(found.stubs) == 10
    assert_same(in_class)
