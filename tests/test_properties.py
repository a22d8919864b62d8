"""Property tests on generated programs: the engine never raises, never breaks code, and fixing
is idempotent (issue #5, "never break code").

hypothesmith generates Python programs from the grammar (`from_grammar`) and from libcst's
node types (`from_node`). Such programs never mention MLflow, so the prefilter would skip them
unparsed: every program gets MLflow code before or after it (the "frame"), which makes the
file pass the prefilter and, for most frames, carries a finding with a safe or unsafe fix, so
the fix path (apply, re-parse, re-check) runs over the generated code too.

For every program and both settings (all rules, safe fixes; all rules, unsafe fixes) the
checks of `mutations.fix_and_verify` hold: check_source and fix_source never raise, errors
come back as FileResult.error and never as an "internal error", the fixed code parses with
libcst and ast, fixing the fixed code changes nothing, and checking it finds nothing fixable.
tests/test_mutations.py does the same with MLflow logging code mixed *into* programs. The
notebook path (`*.ipynb`) gets the same treatment with generated notebooks and arbitrary bytes.
"""

from __future__ import annotations

import hypothesmith
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mutations import PATH, fix_and_verify, notebooks

from mlflow_lint import engine
from mlflow_lint.config import Settings, build_settings

# generated programs like `1()` make CPython's compiler warn
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")
SETTINGS: dict[str, Settings] = {
    "safe": build_settings(None, select=["ALL"]),
    "unsafe": build_settings(None, select=["ALL"], unsafe_fixes=True),
}
CI = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Code that makes a program pass the prefilter. Each but the first carries a finding with a
# fix, which runs the fix path over the whole file, generated code included.
FRAMES = (
    "import mlflow  # log_metric log_param set_tag log_artifact log_metrics log_batch log_text\n",
    # MLF102, safe fix (a pair per epoch: a script's own code runs once per run, where fewer
    # than ten calls are not reported)
    "import mlflow\nfor epoch in range(3):\n"
    "    mlflow.log_metric('a', 1.0, step=epoch)\n    mlflow.log_metric('b', 2.0, step=epoch)\n",
    # MLF103 + MLF104, safe fixes (in a function named for a batch)
    "import mlflow as mf\ndef on_batch_end():\n    mf.log_param('p', 1)\n    mf.log_param('q', 2)\n"
    "    mf.set_tag('t', 'x')\n    mf.set_tag('u', 'y')\n",
    # MLF105, safe fix
    "import mlflow\nwith mlflow.start_run():\n    for k, v in {'a': 1}.items():\n"
    "        mlflow.log_param(k, v)\n",
    # MLF101 (unsafe buffering fix, which also inserts `import time`) and MLF108
    "import os\nimport mlflow\nwith mlflow.start_run():\n    for i in range(3):\n"
    "        mlflow.log_metric('k', i, step=i)\n    for j in range(2):\n"
    "        mlflow.log_metric('n', j)\n",
    # MLF107, unsafe fix
    "import os\nimport mlflow\nfor f in os.listdir(d):\n"
    "    mlflow.log_artifact(os.path.join(d, f))\n",
)


def framed(program: str, frame: str, before: bool) -> str:
    """`frame` before the program, or after it; after when the program has a __future__
    import (which must come first)."""
    if before and "__future__" not in program:
        return frame + program
    if program and not program.endswith(("\n", "\r")):
        program += "\n"
    return program + frame


def verify(program: str, frame: str, before: bool) -> None:
    data = framed(program, frame, before).encode("utf-8")
    for name, config in SETTINGS.items():
        checked = engine.check_source(data, PATH, config)
        assert checked.parsed, f"{name}: the prefilter skipped the framed program"
        fix_and_verify(data, config)


@settings(CI, max_examples=400)
@given(hypothesmith.from_grammar(), st.sampled_from(FRAMES), st.booleans())
@example("", FRAMES[1], True)
@example("def f():\n\tpass\n", FRAMES[4], False)
@example("if x:\r\n    pass\r\n", FRAMES[4], False)
def test_grammar_programs(program: str, frame: str, before: bool) -> None:
    verify(program, frame, before)


@settings(CI, max_examples=120)
@given(hypothesmith.from_node(), st.sampled_from(FRAMES), st.booleans())
def test_node_programs(program: str, frame: str, before: bool) -> None:
    verify(program, frame, before)


@settings(CI, max_examples=1000)
@given(
    st.sampled_from([b"", b"\xef\xbb\xbf", b"# -*- coding: latin-1 -*-\n"]),
    st.sampled_from([f.encode() for f in FRAMES]),
    st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace")),
    st.sampled_from([PATH, "notebook.ipynb"]),
)
def test_arbitrary_bytes_never_raise(head: bytes, frame: bytes, tail: bytes, path: str) -> None:
    """Undecodable, binary, truncated or odd-encoded input is an error result, never an
    exception, whatever is appended to valid MLflow code; as a .py file or a notebook."""
    data = head + frame + tail
    for config in SETTINGS.values():
        fix_and_verify(data, config, path)


@settings(CI, max_examples=200)
@given(notebooks())
def test_notebooks(data: bytes) -> None:
    """Notebooks whose code cells hold logging snippets or generated programs, with magics,
    markdown and raw cells, in several JSON styles: the same properties (the fixed notebook
    must be JSON), through engine.check_source / fix_source's notebook path."""
    for config in SETTINGS.values():
        fix_and_verify(data, config, "notebook.ipynb")
