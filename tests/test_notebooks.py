"""Jupyter notebooks: `mlflow-lint check` and `fix` on real .ipynb files (the installed command)."""

from __future__ import annotations

import base64
import copy
import json
import re
import textwrap
import zlib
from pathlib import Path
from typing import Any, Optional

import nbformat
import pytest
from conftest import run_cli
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from mlflow_lint import notebook as nb_module

PYTHON_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.11.7",
    },
}


def _png() -> str:
    """A real 8x8 PNG, base64-encoded as Jupyter stores images."""
    raw = b"".join(
        b"\x00" + b"".join(bytes([x * 30, y * 30, 128]) for x in range(8)) for y in range(8)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (8).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
    return base64.b64encode(png + chunk(b"IEND", b"")).decode() + "\n"


def code(source: str, **kwargs: Any) -> nbformat.NotebookNode:
    return new_code_cell(textwrap.dedent(source).strip("\n"), **kwargs)


def md(source: str) -> nbformat.NotebookNode:
    return new_markdown_cell(textwrap.dedent(source).strip("\n"))


def notebook(*cells: nbformat.NotebookNode, metadata: Optional[dict[str, Any]] = None) -> Any:
    nb = new_notebook(metadata=copy.deepcopy(PYTHON_METADATA if metadata is None else metadata))
    nb.cells = list(cells)
    nbformat.validate(nb)
    return nb


def write(path: Path, nb: Any) -> bytes:
    nbformat.write(nb, str(path))
    return path.read_bytes()


def sources(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]


def findings(output: str) -> list[str]:
    """`path:cell N:line:col: CODE` of each finding line."""
    return [m.group(1) for m in re.finditer(r"^(\S+:cell \d+:\d+:\d+: MLF\d+) ", output, re.M)]


# --- realistic notebooks ------------------------------------------------------------------------
def training_notebook() -> Any:
    """A notebook as Jupyter leaves it after a run: outputs, an image, metadata, magics."""
    return notebook(
        md(
            """
            # Training run — Übersicht 🚀

            Logs the *loss curve* to MLflow (`mlflow.log_metric` per step: slow).
            """
        ),
        code(
            """
            %matplotlib inline
            %load_ext autoreload
            !pip install -q mlflow
            import mlflow
            import numpy as np
            """,
            execution_count=1,
            outputs=[new_output("stream", name="stdout", text="Requirement already satisfied\n")],
            metadata={"tags": ["setup"], "collapsed": False},
        ),
        code(
            """
            params = {"lr": 0.01, "epochs": 3, "optimizer": "adam", "name": "Größe 名前"}
            def on_batch_end(epoch):
                mlflow.log_param("lr", params["lr"])
                mlflow.log_param("epochs", params["epochs"])
                mlflow.log_param("optimizer", "adam")  # noqa: MLF103
            """,
            execution_count=2,
        ),
        code(
            """
            with mlflow.start_run():
                for step in range(params["epochs"]):
                    loss = 1.0 / (step + 1)
                    mlflow.log_metric("loss", loss, step=step)
            """,
            execution_count=3,
            outputs=[
                new_output(
                    "display_data",
                    data={"image/png": _png(), "text/plain": "<Figure size 640x480 with 1 Axes>"},
                    metadata={"image/png": {"width": 8, "height": 8}},
                ),
                new_output(
                    "execute_result",
                    data={"text/plain": "0.333…"},
                    execution_count=3,
                ),
            ],
        ),
        code(
            """
            %%bash
            for f in *.csv; do
              echo "mlflow.log_metric($f)"
            done
            """,
            execution_count=4,
            outputs=[new_output("stream", name="stdout", text="a.csv\n")],
        ),
        code(
            """
            np.linalg.norm?
            losses = !cat losses.txt
            """,
            execution_count=5,
            outputs=[
                new_output(
                    "error",
                    ename="NameError",
                    evalue="name 'x' is not defined",
                    traceback=["\u001b[0;31mNameError\u001b[0m: name 'x' is not defined"],
                )
            ],
        ),
        new_raw_cell("mlflow.log_metric('raw', 1)"),
        md("Ergebnisse: **fertig** ✓"),
    )


def clean_notebook() -> Any:
    """Nothing to fix: batched calls, plus everything a notebook holds."""
    return notebook(
        md("# Évaluation"),
        code(
            """
            import mlflow
            with mlflow.start_run():
                mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=0)
                mlflow.log_params({"model": "résnet", "batch": 32})
            """,
            execution_count=7,
            outputs=[new_output("stream", name="stderr", text="2024/01/01 WARNING mlflow: …\n")],
        ),
        code("%timeit sum(range(10))", execution_count=8),
        code("", execution_count=None),
        md("Fin. 終わり"),
    )


def write_styles(path: Path, nb: Any) -> dict[str, bytes]:
    """The notebook as different writers write it: nbformat (Jupyter), and by hand: Jupyter's
    JSON settings, indent 2 with ASCII escapes and unsorted keys and no final newline, and
    Windows line endings with sources as single strings."""
    written = {"nbformat": write(path, nb)}
    document = json.loads(written["nbformat"])
    written["jupyter"] = (
        json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode()
    unsorted = {
        "cells": [dict(reversed(list(cell.items()))) for cell in document["cells"]],
        "nbformat": document["nbformat"],
        "nbformat_minor": document["nbformat_minor"],
        "metadata": document["metadata"],
    }
    written["ascii"] = json.dumps(unsorted, indent=2, ensure_ascii=True).encode()
    strings = copy.deepcopy(document)
    for cell in strings["cells"]:
        cell["source"] = "".join(cell["source"])
    written["crlf"] = (
        (json.dumps(strings, indent=1, ensure_ascii=False) + "\n").replace("\n", "\r\n").encode()
    )
    return written


def rewritten(data: bytes, style: str, changes: dict[int, str]) -> bytes:
    """What `data` must become with `changes` to cell sources, in `style` (see write_styles)."""
    text = data.decode()
    document = json.loads(text)
    for index, source in changes.items():
        cell = document["cells"][index]
        if isinstance(cell["source"], list):
            cell["source"] = [line for line in re.split(r"(?<=\n)", source) if line]
        else:
            cell["source"] = source
    if style in ("nbformat", "jupyter"):
        return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
    if style == "ascii":
        return json.dumps(document, indent=2, ensure_ascii=True).encode()
    return (
        (json.dumps(document, indent=1, ensure_ascii=False) + "\n").replace("\n", "\r\n").encode()
    )


# --- check ----------------------------------------------------------------------------------------
def test_findings_are_positioned_in_cells(tmp_path: Path) -> None:
    write(tmp_path / "train.ipynb", training_notebook())
    result = run_cli("check", "--select", "MLF101,MLF103", "train.ipynb", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    # cell 3 holds the MLF103 group (its third call is noqa'd) in a function named for a
    # batch (where two calls are reported), cell 4 the loop; the bash cell, the help and shell
    # lines and the raw cell are skipped without a word
    assert findings(result.stdout) == [
        "train.ipynb:cell 3:3:5: MLF103",
        "train.ipynb:cell 4:4:9: MLF101",
    ]
    assert "error" not in result.stdout
    assert "[*]" in result.stdout.splitlines()[0]


def test_names_resolve_across_cells(tmp_path: Path) -> None:
    alias = code("import mlflow as mf\nfrom mlflow import log_param as lp")
    loop = code(
        """
        with mf.start_run():
            for step in range(10):
                mf.log_metric("acc", 0.1 * step, step=step)
        def on_batch_end(epoch):
            lp("a", 1)
            lp("b", 2)
        """
    )
    write(tmp_path / "nb.ipynb", notebook(alias, md("## Train"), loop))
    result = run_cli("check", "--select", "MLF101,MLF103", "nb.ipynb", cwd=tmp_path)
    assert findings(result.stdout) == ["nb.ipynb:cell 3:3:9: MLF101", "nb.ipynb:cell 3:5:5: MLF103"]
    # without the import cell, `mf` and `lp` are not MLflow: nothing to report
    write(tmp_path / "nb.ipynb", notebook(md("## Train"), copy.deepcopy(loop)))
    result = run_cli("check", "--select", "MLF101,MLF103", "nb.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert findings(result.stdout) == []


def test_magics_and_other_languages_are_skipped(tmp_path: Path) -> None:
    cells = [
        code("%matplotlib inline\n%load_ext autoreload\n!pip install -q mlflow\nimport mlflow"),
        code('%%bash\nfor f in *.csv; do\n  echo "mlflow.log_metric($f)"\ndone'),
        code("%%sql\nSELECT log_metric, 'it''s' FROM mlflow_runs WHERE x = ?"),
        code(
            "mlflow.log_metric?\n?mlflow.log_param\nmlflow.set_tag??\nfiles = !ls\nr = %time sum([1])"
        ),
        code(
            """
            %%time
            with mlflow.start_run():
                for i in range(3):
                    mlflow.log_metric("loss", i, step=i)
                    !echo "step {i}: it's"
                    %time pass
            """
        ),
        code("%%script bash\nfor i in 1 2; do mlflow.log_metric('x', i); done"),
        code("SELECT mlflow, log_metric FROM t", metadata={"vscode": {"languageId": "sql"}}),
        new_raw_cell("for i in x: mlflow.log_metric('raw', i)"),
        code("%pip install \\\n    mlflow \\\n    torch\nx = '''\n%not a magic\n'''"),
        code("/print mlflow\n,print log_metric\n;print a b"),
    ]
    write(tmp_path / "magic.ipynb", notebook(*cells))
    result = run_cli("check", "--select", "ALL", "magic.ipynb", cwd=tmp_path)
    assert findings(result.stdout) == ["magic.ipynb:cell 5:4:9: MLF101"], result.stdout
    assert "error" not in result.stdout and result.returncode == 1
    # the loop holds shell escapes and magics: a fix rewriting it would lose them, so none is
    # offered, even unsafe, and `fix` leaves the notebook alone
    before = (tmp_path / "magic.ipynb").read_bytes()
    unsafe = run_cli("check", "--select", "MLF101", "--unsafe-fixes", "magic.ipynb", cwd=tmp_path)
    assert "[*]" not in unsafe.stdout and "available with" not in unsafe.stdout
    fixed = run_cli("fix", "--select", "ALL", "--unsafe-fixes", "magic.ipynb", cwd=tmp_path)
    assert fixed.returncode == 1 and (tmp_path / "magic.ipynb").read_bytes() == before


def test_notebooks_in_other_languages_are_skipped(tmp_path: Path) -> None:
    r_kernel = {
        "kernelspec": {"display_name": "R", "language": "R", "name": "ir"},
        "language_info": {"name": "R", "file_extension": ".r"},
    }
    cell = code("library(mlflow)\nfor (i in 1:3) mlflow_log_metric('x', i)  # log_metric")
    write(tmp_path / "r.ipynb", notebook(cell, metadata=r_kernel))
    result = run_cli("check", "--select", "ALL", "r.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    # skipped, and said so: not "All checks passed!"
    assert result.stdout == "No findings. 1 file skipped (not Python).\n"
    assert "r.ipynb: skipped: not a Python notebook (its language is R)" in result.stderr


def test_syntax_error_is_reported_in_its_cell(tmp_path: Path) -> None:
    cells = [
        code("import mlflow"),
        code("for i in range(3):\n    mlflow.log_metric('x', i, step=i)"),
        md("broken below"),
        code("x = 1\ndef f(:\n    pass"),
    ]
    write(tmp_path / "broken.ipynb", notebook(*cells))
    before = (tmp_path / "broken.ipynb").read_bytes()
    # the other cells are checked; `fix` writes nothing to a notebook with a broken cell
    for command, suffix in (("check", ""), ("fix", "; nothing fixed in this notebook")):
        result = run_cli(command, "broken.ipynb", cwd=tmp_path)
        assert result.returncode == 2, result.stdout
        errors = [line for line in result.stdout.splitlines() if ": error: " in line]
        assert errors == [f"broken.ipynb:cell 4:2:7: error: SyntaxError: invalid syntax{suffix}"]
        assert findings(result.stdout) == ["broken.ipynb:cell 2:2:5: MLF101"]
    assert (tmp_path / "broken.ipynb").read_bytes() == before


def test_cells_are_parsed_on_their_own(tmp_path: Path) -> None:
    """A string left open in one cell does not swallow the next cell, as it would in one file."""
    cells = [
        code('import mlflow\ns = """'),
        code('mlflow.log_metric("a", 1)\nmlflow.log_metric("b", 2)\n"""'),
    ]
    write(tmp_path / "open.ipynb", notebook(*cells))
    result = run_cli("check", "open.ipynb", cwd=tmp_path)
    assert result.returncode == 2
    assert "open.ipynb:cell 1:2:5: error: SyntaxError: " in result.stdout


def test_invalid_json_is_one_clear_error(tmp_path: Path) -> None:
    data = write(tmp_path / "cut.ipynb", training_notebook())
    (tmp_path / "cut.ipynb").write_bytes(data[: len(data) // 2])
    for command in ("check", "fix"):
        result = run_cli(command, "cut.ipynb", cwd=tmp_path)
        assert result.returncode == 2
        lines = [line for line in result.stdout.splitlines() if line.startswith("cut.ipynb")]
        assert len(lines) == 1, result.stdout
        assert re.fullmatch(
            r"cut\.ipynb:\d+:\d+: error: not a valid notebook: invalid JSON: .+", lines[0]
        )
        assert "1 file could not be checked" in result.stdout
    assert (tmp_path / "cut.ipynb").read_bytes() == data[: len(data) // 2]


def test_old_nbformat_is_refused(tmp_path: Path) -> None:
    old = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]}
    (tmp_path / "v3.ipynb").write_text(
        json.dumps({**old, "metadata": {"name": "mlflow.log_metric()"}}, indent=1)
    )
    result = run_cli("check", "v3.ipynb", cwd=tmp_path)
    assert result.returncode == 2
    assert "v3.ipynb:1:1: error: nbformat 3 notebooks are not supported" in result.stdout


def test_discovery_finds_notebooks_but_not_checkpoints(tmp_path: Path) -> None:
    loop = code("import mlflow\nfor i in range(3):\n    mlflow.log_metric('x', i, step=i)")
    write(tmp_path / "a.ipynb", notebook(loop))
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write(tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb", notebook(copy.deepcopy(loop)))
    (tmp_path / "b.py").write_text(
        "import mlflow\nfor i in range(3):\n    mlflow.log_metric('x', i)\n"
    )
    result = run_cli("check", "--select", "MLF101", ".", cwd=tmp_path)
    assert findings(result.stdout) == ["a.ipynb:cell 1:3:5: MLF101"]
    assert result.stdout.splitlines()[1].startswith("b.py:3:5: MLF101 ")


def test_standard_input_with_a_notebook_name(tmp_path: Path) -> None:
    data = write(tmp_path / "train.ipynb", training_notebook())
    result = run_cli(
        "check", "--select", "MLF101", "-", "--stdin-filename", "train.ipynb", input=data
    )
    assert findings(result.stdout) == ["train.ipynb:cell 4:4:9: MLF101"]


# --- fix --------------------------------------------------------------------------------------------
# in a function named for a batch: a cell's own code runs once per run, where fewer than ten
# calls are not reported
MERGE_HEAD = "def on_batch_end(epoch):\n"
MERGE_BEFORE = (
    MERGE_HEAD
    + '    mlflow.log_param("lr", 0.01)\n    mlflow.log_param("größe", "groß 🚀")\n    mlflow.log_param("名前", "adam")'
)
MERGE_AFTER = MERGE_HEAD + '    mlflow.log_params({"lr": 0.01, "größe": "groß 🚀", "名前": "adam"})'


def merge_notebook() -> Any:
    nb = training_notebook()
    nb.cells[2] = code(MERGE_BEFORE, execution_count=2, outputs=[new_output("stream", text="ok\n")])
    return nb


@pytest.mark.parametrize("style", ["nbformat", "jupyter", "ascii", "crlf"])
def test_fix_merges_within_a_cell_and_keeps_every_other_byte(tmp_path: Path, style: str) -> None:
    path = tmp_path / "train.ipynb"
    before = write_styles(path, merge_notebook())[style]
    path.write_bytes(before)
    result = run_cli("fix", "--select", "MLF103", "train.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fixed 1 finding in 1 file." in result.stdout
    after = path.read_bytes()
    # byte for byte the same file but for cell 3's source, written as the file writes sources
    assert after == rewritten(before, style, {2: MERGE_AFTER})
    assert sources(path)[2] == MERGE_AFTER
    nbformat.validate(nbformat.reads(after.decode(), as_version=4))
    if style == "ascii":
        assert b"gr\\u00f6\\u00dfe" in after and after.isascii()
    # idempotent: nothing left to fix, nothing written
    again = run_cli("fix", "--select", "MLF103", "train.ipynb", cwd=tmp_path)
    assert again.returncode == 0 and "Fixed 0 findings in 0 files." in again.stdout
    assert path.read_bytes() == after


def test_no_merge_across_cells(tmp_path: Path) -> None:
    # a cell's own code runs once per run: ten calls are reported there, fewer are not, and
    # the calls of two cells are never one group (cells 3 and 4 hold five each)
    def calls(first: int, count: int) -> str:
        return "\n".join(f'mlflow.log_metric("m{i}", {i}.0)' for i in range(first, first + count))

    cells = [
        code("import mlflow\n" + calls(0, 10)),
        code(calls(10, 10)),
        code(calls(20, 5)),
        new_code_cell(calls(25, 5) + "\n"),
    ]
    path = tmp_path / "split.ipynb"
    write(path, notebook(*cells))
    check = run_cli("check", "--select", "MLF102", "split.ipynb", cwd=tmp_path)
    assert findings(check.stdout) == [
        "split.ipynb:cell 1:2:1: MLF102",
        "split.ipynb:cell 2:1:1: MLF102",
    ]
    assert "10 consecutive" in check.stdout and "20 consecutive" not in check.stdout
    result = run_cli("fix", "--select", "MLF102", "split.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout

    def merged(first: int, count: int) -> str:
        items = "".join(f'        "m{i}": {i}.0,\n' for i in range(first, first + count))
        return f"mlflow.log_metrics(\n    {{\n{items}    }},\n)"

    assert sources(path) == [
        "import mlflow\n" + merged(0, 10),
        merged(10, 10),
        calls(20, 5),
        calls(25, 5) + "\n",
    ]


def test_diff_shows_changed_cells_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "train.ipynb"
    before = write(path, merge_notebook())
    result = run_cli("fix", "--diff", "--select", "MLF103", "train.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert path.read_bytes() == before
    expected = (
        "--- a/train.ipynb:cell 3\n"
        "+++ b/train.ipynb:cell 3\n"
        "@@ -1,4 +1,2 @@\n"
        + f" {MERGE_HEAD}"
        + "".join(f"-{line}\n" for line in MERGE_BEFORE.splitlines()[1:])
        + f"+{MERGE_AFTER.splitlines()[1]}\n"
    )
    assert result.stdout.startswith(expected), result.stdout


def test_unsafe_buffering_fix_imports_time_in_the_cell_it_changes(tmp_path: Path) -> None:
    """A fix that needs an import adds it to the cell it changes: re-running only that cell
    works (#17.5); the notebook's import cell is left as it is."""
    path = tmp_path / "loop.ipynb"
    write(path, training_notebook())
    before = sources(path)
    result = run_cli("fix", "--unsafe-fixes", "--select", "MLF101", "loop.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    cells = sources(path)
    assert cells[1] == before[1]  # the imports cell
    assert cells[2] == before[2]
    assert cells[3].startswith("import time\n\nwith mlflow.start_run():\n")
    assert "_mlflow_client.log_batch(_mlflow_run_id, metrics=_metric_batch)" in cells[3]
    python = "\n".join(
        line
        for cell in (cells[1], cells[2], cells[3])
        for line in cell.splitlines()
        if not line.startswith(("%", "!"))
    )
    compile(python, "loop", "exec")
    again = run_cli("check", "--select", "MLF101", "loop.ipynb", cwd=tmp_path)
    assert again.returncode == 0, again.stdout


# --- the JSON round trip, in-process ---------------------------------------------------------------
def all_notebooks(tmp_path: Path) -> dict[str, bytes]:
    found = {}
    for name, nb in [
        ("train", training_notebook()),
        ("clean", clean_notebook()),
        ("merge", merge_notebook()),
    ]:
        for style, data in write_styles(tmp_path / f"{name}.ipynb", nb).items():
            found[f"{name}-{style}"] = data
    return found


def test_nothing_to_fix_leaves_every_notebook_byte_identical(tmp_path: Path) -> None:
    for name, data in all_notebooks(tmp_path).items():
        path = tmp_path / f"{name}.ipynb"
        path.write_bytes(data)
        result = run_cli("fix", "--select", "MLF102,MLF104", f"{name}.ipynb", cwd=tmp_path)
        assert result.returncode == 0, (name, result.stdout)
        assert path.read_bytes() == data, name


def test_rewriting_cells_keeps_the_notebooks_representation(tmp_path: Path) -> None:
    for name, data in all_notebooks(tmp_path).items():
        parsed = nb_module.Notebook.parse(data)
        # the same sources written back: the same bytes
        assert parsed.with_sources(dict(parsed.sources)) == data, name
        # new sources: only they change, in the file's own style
        changes = {index: f"# édité ✓\n{source}x = 1\n" for index, source in parsed.sources.items()}
        style = name.split("-")[1]
        assert parsed.with_sources(changes) == rewritten(data, style, changes), name


@pytest.mark.parametrize(
    "source",
    [
        "",
        "x = 1",
        "x = 1\n",
        "%time f()",
        "%%time\nx = 1",
        "\n\n%%capture out\n!ls",
        "for i in x:\n    !echo {i}\n    %time f(i)\n",
        "s = '''\n%not magic\n!nor this\n'''\n!but this",
        "f(a,\n  b)\n%magic \\\n  continued \\\n  lines",
        "x = 1  # a comment?\ny = 'what?'\nhelp?",
        "a = b \\\n  + c\n%x",
        "x = 1\r\n%y\r\nz = 2",
    ],
)
def test_cells_map_back_to_their_source(source: str) -> None:
    magics: list[str] = []
    cell = nb_module._virtual_cell(0, source, "NONCE", magics)
    assert cell is not None
    module = nb_module.VirtualModule([cell], magics, "NONCE")
    assert module.sources == [source]
    compile(cell.text, "cell", "exec")  # every magic replaced


def test_automagic_package_installs_are_magics_not_syntax_errors(tmp_path: Path) -> None:
    """`pip install mlflow` without its `%`: IPython's automagic runs it as `%pip`, and
    notebooks are written that way. The line is left out like `%pip`; `pip in names` is
    Python and stays."""
    cells = [
        code("pip install mlflow==2.16.2 torch\nconda install -y -c conda-forge lightgbm"),
        code("import mlflow\nnames = ['pip']\nprint(pip in names if (pip := 'pip') else 0)"),
        code("for i in range(3):\n    mlflow.log_metric('x', i)"),
    ]
    write(tmp_path / "installs.ipynb", notebook(*cells))
    result = run_cli("check", "--select", "MLF101", "installs.ipynb", cwd=tmp_path)
    assert findings(result.stdout) == ["installs.ipynb:cell 3:2:5: MLF101"], result.stdout
    assert "error" not in result.stdout and result.returncode == 1
