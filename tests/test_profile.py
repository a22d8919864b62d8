"""`mlflow-lint profile` as a command: how it runs the program (arguments, exit codes,
exceptions, `-m`), when it refuses to run (no MLflow, an unsupported version), that importing
mlflow-lint never imports MLflow, that the probes are gone after the run, and the pieces the
report is made of (loops, user code, formatting). The counts themselves are checked against a
real tracking server and a real sqlite store in test_profile_mlflow.py.

The programs here log to a local `sqlite:` tracking URI in a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

import pytest
from conftest import run_cli

from mlflow_lint.profile import render
from mlflow_lint.profile.loops import FileLoops
from mlflow_lint.profile.sites import CodeFilter, display_path


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'tracking.db'}",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def profile_json(
    tmp_path: Path, *args: str, env: Optional[dict[str, str]] = None
) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "profile.json"
    result = run_cli(
        "profile",
        "--format",
        "json",
        "-o",
        str(out),
        *args,
        cwd=tmp_path,
        env=env or env_for(tmp_path),
    )
    assert out.exists(), result.stdout + result.stderr
    return result, json.loads(out.read_text(encoding="utf-8"))


# --- running the program ---------------------------------------------------------------------
PROGRAM = """\
import sys
import mlflow

print("argv", sys.argv[1:], __name__, __file__ == sys.argv[0] or __file__)
with mlflow.start_run():
    for i in range(3):
        mlflow.log_metric("m", i, step=i)
if "--raise" in sys.argv:
    raise ValueError("the program failed")
if "--exit" in sys.argv:
    sys.exit(int(sys.argv[-1]))
"""


def test_runs_the_program_with_its_own_arguments_and_exit_code(tmp_path: Path) -> None:
    script = write(tmp_path / "train.py", PROGRAM)
    result, doc = profile_json(tmp_path, str(script), "--exit", "7")
    assert result.returncode == 7, result.stderr
    assert "argv ['--exit', '7'] __main__" in result.stdout
    assert doc["program"]["exit_code"] == 7
    assert doc["program"]["exception"] is None
    line = next(item for item in doc["lines"] if item["line"] == 7)
    assert line["requests"] == 3 and line["calls"] == 3


def test_an_exception_is_reported_and_the_profile_still_written(tmp_path: Path) -> None:
    script = write(tmp_path / "train.py", PROGRAM)
    result = run_cli("profile", str(script), "--raise", cwd=tmp_path, env=env_for(tmp_path))
    assert result.returncode == 1
    # Python's own traceback, without mlflow-lint's frames
    assert "Traceback (most recent call last):" in result.stderr
    assert 'train.py", line 9, in <module>' in result.stderr
    assert "ValueError: the program failed" in result.stderr
    assert "mlflow_lint" not in result.stderr
    # and the profile, after it
    assert "raised ValueError: the program failed (exit code 1)" in result.stdout
    assert "train.py:7" in result.stdout


def test_a_module_with_dash_m(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "train.py", PROGRAM)
    write(tmp_path / "pkg" / "__main__.py", "import pkg.train\n")
    result, doc = profile_json(tmp_path, "-m", "pkg.train", "a", "b")
    assert result.returncode == 0, result.stderr
    assert "argv ['a', 'b'] __main__" in result.stdout
    assert doc["program"] == {
        "argv": ["pkg.train", "a", "b"],
        "module": True,
        "exit_code": 0,
        "exception": None,
    }
    metric = next(x for x in doc["lines"] if x["line"] == 7)
    assert (metric["path"], metric["requests"]) == (os.path.join("pkg", "train.py"), 3)
    # a package runs its __main__
    result, doc = profile_json(tmp_path, "-m", "pkg")
    assert result.returncode == 0, result.stderr
    assert any(x["path"] == os.path.join("pkg", "train.py") for x in doc["lines"])


def test_a_pytest_run(tmp_path: Path) -> None:
    write(
        tmp_path / "test_training.py",
        """\
        import mlflow

        def log_all(values):
            for i, value in enumerate(values):
                mlflow.log_metric("v", value, step=i)

        def test_logs():
            with mlflow.start_run():
                log_all([1, 2, 3, 4])

        def test_fails():
            assert False
        """,
    )
    result, doc = profile_json(
        tmp_path, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_training.py"
    )
    assert result.returncode == 1, result.stdout  # pytest's: one test failed
    assert "1 failed, 1 passed" in result.stdout
    line = next(x for x in doc["lines"] if x["line"] == 5)
    assert line["path"] == "test_training.py" and line["requests"] == 4
    assert line["callers"] == [{"path": "test_training.py", "line": 9, "requests": 4}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.py"], "can't open file 'missing.py'"),
        (["-m", "no_such_module_here"], "No module named 'no_such_module_here'"),
        (["broken.py"], "SyntaxError"),
    ],
)
def test_nothing_to_run_is_a_one_line_error(tmp_path: Path, args: list[str], message: str) -> None:
    write(tmp_path / "broken.py", "def f(:\n")
    result = run_cli("profile", *args, cwd=tmp_path, env=env_for(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_no_program_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("profile", cwd=tmp_path)
    assert result.returncode == 2
    assert "name the program to run" in result.stderr


# --- refusing to run ---------------------------------------------------------------------------
def fake_mlflow(root: Path, version: str) -> Path:
    write(
        root / "mlflow" / "__init__.py",
        "raise ImportError('the fake mlflow must not be imported')\n",
    )
    write(root / "mlflow" / "version.py", f'VERSION = "{version}"\n')
    return root


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2.15.1", "supports MLflow 2.16.2 and later; this environment has MLflow 2.15.1"),
        ("4.0.0", "has not been verified with MLflow 4.0.0"),
    ],
)
def test_an_unsupported_mlflow_version_is_refused(
    tmp_path: Path, version: str, message: str
) -> None:
    script = write(tmp_path / "train.py", PROGRAM)
    site = fake_mlflow(tmp_path / "site", version)
    result = run_cli(
        "profile", str(script), cwd=tmp_path, env=env_for(tmp_path, PYTHONPATH=str(site))
    )
    assert result.returncode == 2
    assert result.stdout == ""  # the program did not run
    assert result.stderr.strip() == f"mlflow-lint profile: `mlflow-lint profile` {message}" or (
        message in result.stderr and result.stderr.count("\n") == 1
    )


def test_without_mlflow_profile_says_so(tmp_path: Path) -> None:
    script = write(tmp_path / "train.py", PROGRAM)
    site = write(
        tmp_path / "site" / "sitecustomize.py",
        """\
        import sys

        class NoMlflow:
            def find_spec(self, name, path=None, target=None):
                if name == "mlflow" or name.startswith("mlflow."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoMlflow())
        """,
    ).parent
    result = run_cli(
        "profile", str(script), cwd=tmp_path, env=env_for(tmp_path, PYTHONPATH=str(site))
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "needs MLflow installed where the program runs" in result.stderr
    assert "pip install mlflow" in result.stderr


def test_importing_mlflow_lint_never_imports_mlflow() -> None:
    code = (
        "import sys\n"
        "import mlflow_lint.cli, mlflow_lint.profile.command, mlflow_lint.profile.analysis\n"
        "import mlflow_lint.profile.render, mlflow_lint.profile.probes\n"
        "assert not any(m == 'mlflow' or m.startswith('mlflow.') for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith('mlflow.'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_probes_are_removed_after_the_run(tmp_path: Path) -> None:
    script = write(tmp_path / "train.py", PROGRAM)
    out = tmp_path / "out.json"
    code = f"""
import concurrent.futures, json, subprocess, sys, threading
import multiprocessing.process
from mlflow_lint.config import build_settings
from mlflow_lint.profile.command import Options, profile
from mlflow_lint.profile.program import Program
from mlflow_lint.profile.probes import WRAPPED
from mlflow_lint.profile.recorder import TAG

before = (threading.Thread.start, concurrent.futures.ThreadPoolExecutor.submit,
          multiprocessing.process.BaseProcess.start, subprocess.Popen.__init__)
code = profile(Options(Program({str(script)!r}, []), build_settings(None), "json", {str(out)!r}))
assert code == 0
after = (threading.Thread.start, concurrent.futures.ThreadPoolExecutor.submit,
         multiprocessing.process.BaseProcess.start, subprocess.Popen.__init__)
assert before == after
assert not [f for f in sys.meta_path if type(f).__name__ == '_AfterImport']
import mlflow.utils.rest_utils as rest_utils
import mlflow.store.artifact.http_artifact_repo as http_repo
from mlflow.store.tracking import abstract_store, sqlalchemy_store
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository
from mlflow.utils.async_logging.run_batch import RunBatch
assert not hasattr(rest_utils.http_request, WRAPPED)
assert http_repo.http_request is rest_utils.http_request
assert "__init_subclass__" not in vars(abstract_store.AbstractStore)
assert "__init_subclass__" not in vars(ArtifactRepository)
assert not hasattr(sqlalchemy_store.SqlAlchemyStore.log_metric, WRAPPED)
assert not hasattr(LocalArtifactRepository.log_artifact, WRAPPED)
assert TAG not in vars(RunBatch) and not hasattr(RunBatch.__init__, "__wrapped__")
print(json.load(open({str(out)!r}))["totals"]["requests"])
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    # the experiment's lookup, the run's creation, 3 metrics and the run's end
    assert result.stdout.strip().splitlines()[-1] == "6"


# --- the report --------------------------------------------------------------------------------
def test_the_text_report(tmp_path: Path) -> None:
    script = write(
        tmp_path / "train.py",
        """\
        import mlflow

        def log_loss(step):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)

        with mlflow.start_run():
            for step in range(12):
                log_loss(step)
            for name in ["a", "b", "c"]:
                mlflow.set_tag(name, "x")
        """,
    )
    result = run_cli("profile", "--top", "2", str(script), cwd=tmp_path, env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("mlflow-lint profile: python ")
    lines = out.splitlines()
    title = next(
        n for n, line in enumerate(lines) if line.startswith("Top 2 lines by tracking requests")
    )
    assert lines[title].endswith("; 1 more with --top:")
    first = lines[title + 2]
    assert first.lstrip().startswith("█" * render.BAR_WIDTH) and "train.py:4" in first
    assert "called from train.py:8 (12)" in out
    assert "MLF101 at the call in train.py:8:" in out  # the helper's finding is at its call
    # and its remedy under it, as `check` shows it
    help_line = lines[lines.index(next(x for x in lines if "MLF101 at the call" in x)) + 1]
    assert help_line.lstrip().startswith("help: ") and "log_batch" in help_line
    # written to a file, the same report, and nothing on standard output
    report = tmp_path / "report.txt"
    result = run_cli("profile", "-o", str(report), str(script), cwd=tmp_path, env=env_for(tmp_path))
    assert result.stdout == ""
    assert "train.py:4" in report.read_text(encoding="utf-8")


def test_blind_spots_are_listed(tmp_path: Path) -> None:
    # a loop the static rules cannot see: its body is a string run by exec
    script = write(
        tmp_path / "train.py",
        """\
        import mlflow

        with mlflow.start_run():
            mlflow.log_artifacts  # noqa
            exec("for i in range(12):\\n    mlflow.log_metric('m', i)\\n")
            values = iter(range(11))
            while True:
                value = next(values, None)
                if value is None:
                    break
                mlflow.log_param(f"p{value}", value)
        """,
    )
    result, doc = profile_json(tmp_path, str(script))
    assert result.returncode == 0, result.stderr
    spots = {(x["path"], x["line"]): x["requests"] for x in doc["blind_spots"]}
    assert spots == {("train.py", 5): 12, ("train.py", 11): 11} or spots.get(("train.py", 5)) == 12


def test_lines_the_engine_counts_are_not_flagged_not_blind(tmp_path: Path) -> None:
    """A call once per epoch is counted by the loop's estimate and left alone by MLF101: it is
    listed as not flagged. A helper run through `map` is seen by no estimate: a blind spot."""
    script = write(
        tmp_path / "train.py",
        """\
        import mlflow

        def log_score(item):
            mlflow.log_metric(item[0], item[1])

        with mlflow.start_run():
            for epoch in range(11):
                mlflow.log_metric("epoch_loss", 1 / (epoch + 1), step=epoch)
            list(map(log_score, {f"s{i}": i for i in range(12)}.items()))
        """,
    )
    result, doc = profile_json(tmp_path, str(script))
    assert result.returncode == 0, result.stderr
    assert [(x["line"], x["requests"]) for x in doc["blind_spots"]] == [(4, 12)]
    assert [(x["line"], x["requests"]) for x in doc["not_flagged"]] == [(8, 11)]
    lines = {x["line"]: x for x in doc["lines"]}
    assert lines[8]["findings"] == [] and lines[8]["estimated_in"] == {
        "path": "train.py",
        "line": 7,
    }
    assert lines[4]["estimated_in"] is None
    text = run_cli("profile", str(script), cwd=tmp_path, env=env_for(tmp_path)).stdout
    assert "no finding here; counted in the estimate of the loop at train.py:7" in text
    blind = text.index("Blind spots:")
    not_flagged = text.index("Not flagged:")
    assert "train.py:4  12 requests" in text[blind:not_flagged]
    assert "train.py:8  11 requests" in text[not_flagged:]


def test_loop_iterations_are_counted(tmp_path: Path) -> None:
    script = write(
        tmp_path / "train.py",
        """\
        import mlflow

        def epoch_loop(epochs, batches):
            for epoch in range(epochs):
                for batch in range(batches):
                    if batch % 2 == 0:
                        mlflow.log_metric("loss", 0.5, step=epoch * batches + batch)

        with mlflow.start_run():
            for fold in range(2):
                epoch_loop(3, 4)
        """,
    )
    result, doc = profile_json(tmp_path, str(script))
    assert result.returncode == 0, result.stderr
    loops = {
        x["line"]: (x["label"], x["iterations_with_requests"], x["entries"]) for x in doc["loops"]
    }
    assert loops == {
        4: ("epoch", 6, 2),  # 3 epochs, entered once per fold
        5: ("batch", 12, 6),  # 2 of 4 batches log, in each of 6 epochs
        10: ("fold", 2, 1),
    }


# --- pieces ----------------------------------------------------------------------------------
def test_file_loops_map_lines_to_their_loops() -> None:
    loops = FileLoops(
        textwrap.dedent(
            """\
            for a in range(3):          # 1
                x = 1                   # 2
                while x:                # 3
                    x -= 1              # 4
                def f():                # 5
                    for (b, c) in g():  # 6
                        pass            # 7
            else:                       # 8
                pass                    # 9
            for some_very_long_target_name_here in []:  # 10
                pass                    # 11
            """
        )
    )
    labels = {n: tuple(loop.label for loop in loops.enclosing(n)) for n in range(1, 12)}
    assert labels == {
        1: (),  # the header: its iterable is evaluated once
        2: ("a",),
        3: ("a", "while"),
        4: ("a", "while"),
        5: (),
        6: (),
        7: ("b",),  # the first name of the target, as context.loop_label
        8: (),
        9: (),
        10: (),
        11: ("for",),
    }
    assert loops.loops[6].targets == ("b", "c")
    assert loops.loops[3].targets == () and not loops.loops[3].counts_iterations


def test_loop_labels_are_the_engines() -> None:
    """The profile sizes the engine's estimates by loop label: its labels must be the ones
    context.loop_label gives, or an estimate cannot be evaluated."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from mlflow_lint import engine
    from mlflow_lint.context import FileContext

    source = textwrap.dedent(
        """\
        for epoch in range(3):
            for batch_idx, (x, y) in enumerate(loader):
                pass
        for *rest, last in rows:
            pass
        for self.item in items:
            pass
        for a_name_that_is_far_too_long_for_a_label in things:
            pass
        while running:
            async def inner():
                async for chunk in stream:
                    pass
        for [k, v] in pairs:
            pass
        for _, row in frame.iterrows():
            pass
        for _ in range(3):
            pass
        """
    )
    module = engine.parse(source)
    context = FileContext(module, "labels.py", source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    loops = [n for n in positions if isinstance(n, (cst.For, cst.While))]
    expected = {positions[n].start.line: context.loop_label(n) for n in loops}
    found = {line: loop.label for line, loop in FileLoops(source).loops.items()}
    assert found == expected
    assert set(found.values()) == {
        *("epoch", "batch_idx", "rest", "for", "while", "chunk", "k", "row")
    }


def test_user_code_is_the_program_not_libraries(tmp_path: Path) -> None:
    code = CodeFilter()
    assert code.is_user(str(tmp_path / "train.py"))
    assert not code.is_user(os.__file__)  # the standard library
    assert not code.is_user(pytest.__file__)  # site-packages
    assert not code.is_user(render.__file__)  # mlflow-lint
    assert not code.is_user("<string>")
    import importlib.util

    spec = importlib.util.find_spec("mlflow")
    assert spec is not None and spec.origin is not None
    assert not code.is_user(spec.origin)
    assert display_path(str(tmp_path / "a" / "b.py"), str(tmp_path)) == os.path.join("a", "b.py")
    assert display_path("/elsewhere/b.py", str(tmp_path)) == "/elsewhere/b.py"


def test_numbers_and_bars() -> None:
    assert render.count(4000) == "4,000"
    assert render.size(999) == "999 B" and render.size(1500) == "1.5 KB"
    assert render.seconds(0.0042) == "4.2 ms" and render.seconds(1.5) == "1.50 s"
    assert render.short_endpoint("POST /api/2.0/mlflow/runs/log-metric") == "POST runs/log-metric"
    assert render._bar(10, 10, False) == "█" * render.BAR_WIDTH
    assert render._bar(1, 1000, False).strip() == "▏"  # never invisible
    assert render._bar(5, 10, True) == "#" * (render.BAR_WIDTH // 2) + " " * (render.BAR_WIDTH // 2)


def test_a_forked_child_is_reported_once_and_not_followed(tmp_path: Path) -> None:
    script = write(
        tmp_path / "fork.py",
        """\
        import os
        import mlflow

        with mlflow.start_run():
            mlflow.log_param("before", 1)
        pid = os.fork()
        if pid:
            os.waitpid(pid, 0)
        """,
    )
    result = run_cli("profile", str(script), cwd=tmp_path, env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("mlflow-lint profile: python") == 1  # the parent's report only
    assert "fork.py:6  started 1 (os.fork)" in result.stdout


def test_a_retried_request_counts_each_attempt(tmp_path: Path) -> None:
    script = write(
        tmp_path / "retry.py",
        """\
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from mlflow.utils.rest_utils import MlflowHostCreds, http_request

        hits = []


        class Flaky(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                self.send_response(503 if len(hits) == 1 else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass


        server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        creds = MlflowHostCreds(f"http://127.0.0.1:{server.server_address[1]}")
        http_request(creds, "/api/2.0/mlflow/experiments/get", "GET", backoff_factor=0)
        print("server hits", len(hits))
        """,
    )
    result, doc = profile_json(tmp_path, str(script))
    assert result.returncode == 0, result.stderr
    assert "server hits 2" in result.stdout
    line = next(x for x in doc["lines"] if x["line"] == 24)
    assert (line["requests"], line["retries"], line["calls"]) == (2, 1, 1)
    assert line["endpoints"] == {"GET /api/2.0/mlflow/experiments/get": 2}
