"""Notebooks as they really are (issue 17): Databricks exports with language cells, Jupyter
notebooks with outputs and cell magics, a broken cell in the middle, corrupt files and
notebooks in other languages; through the installed command, flake8 and the language server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import run_cli
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from test_lsp import Client, capabilities
from test_notebooks import PYTHON_METADATA, findings, sources

DATABRICKS_CELL = {
    "application/vnd.databricks.v1+cell": {
        "cellMetadata": {"byteLimit": 2048000, "rowLimit": 10000},
        "inputWidgets": {},
        "nuid": "c46e0e24-f2e0-4f64-a778-6a100e861e7f",
        "showTitle": False,
        "title": "",
    }
}
DATABRICKS_METADATA = {
    "application/vnd.databricks.v1+notebook": {
        "dashboards": [],
        "language": "python",
        "notebookMetadata": {"pythonIndentUnit": 4},
        "notebookName": "train",
        "widgets": {},
    }
}


def databricks_cell(source: str, cell_type: str = "code") -> Any:
    cell = new_code_cell(source) if cell_type == "code" else new_markdown_cell(source)
    cell.metadata.update(json.loads(json.dumps(DATABRICKS_CELL)))
    if cell_type == "code":
        cell.execution_count = 0
    return cell


def databricks_notebook() -> Any:
    """A notebook as Databricks exports it as IPython (.ipynb): language magics on the first
    line of code cells, Databricks metadata on every cell."""
    nb = new_notebook(metadata=json.loads(json.dumps(DATABRICKS_METADATA)))
    nb.cells = [
        databricks_cell("# Train and log", "markdown"),
        databricks_cell("%pip install mlflow==2.16.2"),
        databricks_cell("%run ./setup"),
        databricks_cell("%sh\ncurl -o /tmp/data.csv https://example.com/2024/01/007/data.csv"),
        databricks_cell("%fs ls /mnt/raw"),
        databricks_cell("%md\n## Params\nLogged with `mlflow.log_param(...)` below."),
        databricks_cell(
            # in a function named for a batch: a cell's own code runs once per run, where
            # fewer than ten calls are not reported
            "import mlflow\ndef on_batch_end():\n"
            "    mlflow.log_param('lr', 0.01)\n    mlflow.log_param('epochs', 3)"
        ),
        databricks_cell("%sql\nSELECT * FROM runs WHERE run_id = 0012 -- mlflow.log_metric("),
        databricks_cell('%scala\nval runs = spark.table("runs")\nmlflow.log_metric("x", 1)'),
        databricks_cell("%r\nlibrary(mlflow)\nmlflow_log_metric('x', 1)"),
        databricks_cell(
            "%python\nfor step in range(3):\n    mlflow.log_metric('loss', 1 / (step + 1), step=step)"
        ),
    ]
    nbformat.validate(nb)
    return nb


def write(path: Path, nb: Any) -> bytes:
    nbformat.write(nb, str(path))
    return path.read_bytes()


def errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": error: " in line]


# --- 1. language cells and cell magics ---------------------------------------------------------
def test_databricks_language_cells_are_skipped_and_python_cells_checked(tmp_path: Path) -> None:
    path = tmp_path / "train.ipynb"
    before = write(path, databricks_notebook())
    result = run_cli("check", "--select", "ALL", "-v", "train.ipynb", cwd=tmp_path)
    assert errors(result.stdout) == [], result.stdout
    assert findings(result.stdout) == [
        "train.ipynb:cell 7:3:5: MLF103",
        "train.ipynb:cell 11:3:5: MLF101",
    ]
    assert result.returncode == 1
    # --verbose says which cells were skipped, and why, on standard error
    for cell, language in [(4, "shell"), (5, "file-system"), (6, "Markdown"), (8, "SQL")]:
        assert f"train.ipynb:cell {cell}: skipped: Databricks `%" in result.stderr
        assert language in result.stderr
    assert "cell 9: skipped" in result.stderr and "cell 10: skipped" in result.stderr
    quiet = run_cli("check", "--select", "ALL", "train.ipynb", cwd=tmp_path)
    assert "skipped" not in quiet.stderr
    # fix merges the Python cell's calls and leaves the other cells byte for byte
    fixed = run_cli("fix", "--select", "MLF103", "train.ipynb", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout
    after = sources(path)
    assert after[6] == (
        "import mlflow\ndef on_batch_end():\n    mlflow.log_params({'lr': 0.01, 'epochs': 3})"
    )
    original = [c["source"] for c in json.loads(before)["cells"]]
    assert [s for i, s in enumerate(after) if i != 6] == [
        "".join(s) for i, s in enumerate(original) if i != 6
    ]


def test_sql_line_magic_outside_databricks_is_a_line_magic(tmp_path: Path) -> None:
    nb = new_notebook(metadata=PYTHON_METADATA)
    nb.cells = [
        new_code_cell("%load_ext sql\nimport mlflow"),
        new_code_cell("%sql SELECT 1\nfor i in range(3):\n    mlflow.log_metric('m', i, step=i)"),
    ]
    write(tmp_path / "sql.ipynb", nb)
    result = run_cli("check", "--select", "MLF101", "sql.ipynb", cwd=tmp_path)
    assert findings(result.stdout) == ["sql.ipynb:cell 2:3:5: MLF101"], result.stdout


def jupyter_notebook() -> Any:
    """A Jupyter notebook after a run: outputs, cell magics, a training script written to disk."""
    nb = new_notebook(metadata=PYTHON_METADATA)
    nb.cells = [
        new_markdown_cell("# Experiments"),
        new_code_cell(
            "%load_ext autoreload\n%autoreload 2\n!pip install -q mlflow\nimport mlflow as mf",
            execution_count=1,
            outputs=[new_output("stream", name="stdout", text="Successfully installed\n")],
        ),
        new_code_cell("%%bash\nmkdir -p out && echo 'mlflow.log_metric(1)' > out/x.txt"),
        new_code_cell(
            "%%writefile train.py\nimport mlflow\n\nfor step in range(10):\n"
            "    mlflow.log_metric('loss', 0.1 * step)\n",
            execution_count=2,
            outputs=[new_output("stream", name="stdout", text="Writing train.py\n")],
        ),
        new_code_cell(
            "%%writefile MLproject\nname: demo\nentry_points:\n  main:\n    command: python train.py"
        ),
        new_code_cell("%%writefile -a train.py\nmlflow.set_tag('a', 1)\nmlflow.set_tag('b', 2)"),
        new_code_cell("!python train.py"),
        new_code_cell(
            "%%capture output\ndef on_batch_end():\n"
            "    mf.set_tag('owner', 'me')\n    mf.set_tag('team', 'ml')",
            execution_count=3,
        ),
        new_code_cell("%%time\nfor step in range(3):\n    mf.log_metric('acc', step, step=step)"),
        new_code_cell(
            "%%python\nimport mlflow\ndef on_batch_end():\n"
            "    mlflow.log_param('a', 1)\n    mlflow.log_param('b', 2)"
        ),
    ]
    nbformat.validate(nb)
    return nb


def test_jupyter_cell_magics(tmp_path: Path) -> None:
    write(tmp_path / "exp.ipynb", jupyter_notebook())
    result = run_cli("check", "--select", "ALL", "-v", "exp.ipynb", cwd=tmp_path)
    assert errors(result.stdout) == [], result.stdout
    assert findings(result.stdout) == [
        # %%writefile train.py: checked as the file it writes (its own `import mlflow`)
        "exp.ipynb:cell 4:5:5: MLF101",
        "exp.ipynb:cell 4:5:5: MLF108",
        # %%capture and %%time run their body in the notebook: `mf` is known there
        "exp.ipynb:cell 8:3:5: MLF104",
        "exp.ipynb:cell 9:3:5: MLF101",
        # %%python: a program of its own
        "exp.ipynb:cell 10:4:5: MLF103",
    ]
    assert "exp.ipynb:cell 3: skipped: `%%bash` cell, not Python" in result.stderr
    assert "exp.ipynb:cell 5: skipped: `%%writefile` writes MLproject, not Python" in result.stderr
    assert "exp.ipynb:cell 6: skipped: `%%writefile -a` appends a part of train.py" in result.stderr
    assert "exp.ipynb:cell 4: `%%writefile` writes train.py: checked as that file" in result.stderr


# in a function named for a batch, where two calls are reported
EPOCH_PAIR = "def on_batch_end():\n    mlflow.log_param('x', 1)\n    mlflow.log_param('y', 2)"


def test_writefile_body_has_its_own_names_and_is_fixed_in_place(tmp_path: Path) -> None:
    nb = new_notebook(metadata=PYTHON_METADATA)
    nb.cells = [
        new_code_cell("import mlflow"),
        # no import in the written file: `mlflow` there is not the notebook's module
        new_code_cell(f"%%writefile a.py\n{EPOCH_PAIR}"),
        new_code_cell(f"%%writefile b.py\nimport mlflow\n{EPOCH_PAIR}"),
    ]
    path = tmp_path / "w.ipynb"
    write(path, nb)
    result = run_cli("check", "--select", "MLF103", "w.ipynb", cwd=tmp_path)
    assert findings(result.stdout) == ["w.ipynb:cell 3:4:5: MLF103"], result.stdout
    fixed = run_cli("fix", "--select", "MLF103", "w.ipynb", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout
    assert sources(path)[2] == (
        "%%writefile b.py\nimport mlflow\n"
        "def on_batch_end():\n    mlflow.log_params({'x': 1, 'y': 2})"
    )


def test_databricks_source_export(tmp_path: Path) -> None:
    """The `.py` export: cells are separated by `# COMMAND ----------`, other languages are
    `# MAGIC` comments. It is a Python file: checked and fixed as one, flake8 included."""
    source = (
        "# Databricks notebook source\n"
        "# MAGIC %md\n# MAGIC # Train\n\n"
        "# COMMAND ----------\n\n"
        "# MAGIC %pip install mlflow\n\n"
        "# COMMAND ----------\n\n"
        "import mlflow\n"
        "def on_batch_end():\n    mlflow.set_tag('a', 1)\n    mlflow.set_tag('b', 2)\n\n"
        "# COMMAND ----------\n\n"
        "# MAGIC %sql\n# MAGIC SELECT 0012 FROM t\n\n"
        "# COMMAND ----------\n\n"
        "for i in range(3):\n    mlflow.log_metric('m', i, step=i)\n"
    )
    path = tmp_path / "train.py"
    path.write_text(source)
    result = run_cli("check", "--select", "MLF101,MLF104", "train.py", cwd=tmp_path)
    assert [line.split(" ")[0] for line in result.stdout.splitlines()[:-1]] == [
        "train.py:13:5:",
        "train.py:24:5:",
    ]
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "MLF101,MLF104", "train.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert [line.split(" ")[0] for line in flake8.stdout.splitlines()] == [
        "train.py:13:5:",
        "train.py:24:5:",
    ]
    run_cli("fix", "--select", "MLF104", "train.py", cwd=tmp_path)
    assert path.read_text() == source.replace(
        "    mlflow.set_tag('a', 1)\n    mlflow.set_tag('b', 2)",
        "    mlflow.set_tags({'a': 1, 'b': 2})",
    )


# --- 2. one broken cell -----------------------------------------------------------------------------
def broken_notebook() -> Any:
    nb = new_notebook(metadata=PYTHON_METADATA)
    nb.cells = [
        new_code_cell("import mlflow", execution_count=1),
        new_code_cell(
            "for i in range(3):\n    mlflow.log_metric('a', i, step=i)",
            execution_count=2,
            outputs=[new_output("stream", name="stdout", text="done\n")],
        ),
        new_markdown_cell("work in progress below"),
        new_code_cell("import mlflow as mf\nparams = {'lr': 0.1,\nmlflow.log_param('x', 1)"),
        # in functions named for a batch, where two calls are reported
        new_code_cell(
            "def on_batch_end():\n    mf.log_param('lr', 0.1)\n    mf.log_param('bs', 32)"
        ),
        new_code_cell(
            "def on_batch_end():\n    mlflow.set_tag('a', 1)\n    mlflow.set_tag('b', 2)"
        ),
    ]
    return nb


def test_broken_cell_is_one_error_and_other_cells_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "wip.ipynb"
    before = write(path, broken_notebook())
    result = run_cli("check", "--select", "ALL", "wip.ipynb", cwd=tmp_path)
    assert result.returncode == 2
    (error,) = errors(result.stdout)
    assert error.startswith("wip.ipynb:cell 4:2:") and "SyntaxError" in error, error
    # `mf` is defined in the broken cell only: unknown to cell 5
    assert findings(result.stdout) == [
        "wip.ipynb:cell 2:2:5: MLF101",
        "wip.ipynb:cell 6:2:5: MLF104",
    ]
    # the same through standard input and the cache (a second run)
    stdin = run_cli("check", "--select", "ALL", "-", "--stdin-filename", "wip.ipynb", input=before)
    again = run_cli("check", "--select", "ALL", "wip.ipynb", cwd=tmp_path)
    assert stdin.stdout == again.stdout == result.stdout
    # fix: the findings are listed, nothing is written, and the error says so
    fixed = run_cli("fix", "--select", "ALL", "wip.ipynb", cwd=tmp_path)
    assert fixed.returncode == 2
    (error,) = errors(fixed.stdout)
    assert error.endswith("; nothing fixed in this notebook")
    assert findings(fixed.stdout) == findings(result.stdout)
    assert path.read_bytes() == before
    diff = run_cli("fix", "--diff", "--select", "ALL", "wip.ipynb", cwd=tmp_path)
    assert diff.returncode == 2 and not diff.stdout.startswith("---")


def test_two_broken_cells_are_one_error_naming_both(tmp_path: Path) -> None:
    nb = broken_notebook()
    nb.cells.append(new_code_cell("def f(:\n    pass"))
    write(tmp_path / "wip.ipynb", nb)
    result = run_cli("check", "wip.ipynb", cwd=tmp_path)
    (error,) = errors(result.stdout)
    assert error.startswith("wip.ipynb:cell 4:") and error.endswith("(cell 7 do not parse either)")


# --- 3. corrupt notebooks --------------------------------------------------------------------------
VALID = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}
CORRUPT = {
    "empty": (b"", "the file is empty"),
    "blank": (b"  \n", "the file is empty"),
    "truncated": (
        json.dumps({**VALID, "cells": [{"cell_type": "code"}]}).encode()[:40],
        "invalid JSON",
    ),
    "array": (b"[1, 2]", "the JSON document is an array, not an object"),
    "no-cells": (json.dumps({"nbformat": 4, "metadata": {}}).encode(), 'no "cells" list'),
    "cells-object": (json.dumps({**VALID, "cells": {}}).encode(), 'no "cells" list'),
    "cell-string": (json.dumps({**VALID, "cells": ["x"]}).encode(), "a cell is not a JSON object"),
    "null-source": (
        json.dumps(
            {**VALID, "cells": [{"cell_type": "code", "source": None, "metadata": {}}]}
        ).encode(),
        'the cell\'s "source" is missing',
    ),
    "no-nbformat": (json.dumps({"cells": [], "metadata": {}}).encode(), 'no "nbformat" version'),
    "string-nbformat": (json.dumps({**VALID, "nbformat": "4"}).encode(), '"nbformat" is a string'),
    "nbformat-5": (
        json.dumps({**VALID, "nbformat": 5}).encode(),
        "nbformat 5 notebooks are not supported",
    ),
    "latin-1": ('{"cells": ["é"]}'.encode("latin-1"), "not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_notebook_is_one_error_whatever_it_contains(tmp_path: Path, name: str) -> None:
    data, message = CORRUPT[name]
    assert b"mlflow" not in data  # the byte prefilter would have let it pass silently
    path = tmp_path / f"{name}.ipynb"
    path.write_bytes(data)
    for args in (["check"], ["check", "--no-cache"], ["check"], ["fix"], ["fix", "--diff"]):
        result = run_cli(*args, path.name, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout)
        (error,) = errors(result.stdout)
        assert message in error, error
        assert "All checks passed" not in result.stdout
    stdin = run_cli("check", "-", "--stdin-filename", path.name, input=data)
    assert stdin.returncode == 2 and message in stdin.stdout
    assert path.read_bytes() == data


# --- 6. counts -----------------------------------------------------------------------------------------
def test_notebook_in_another_language_is_reported_as_skipped(tmp_path: Path) -> None:
    for name, language in (("r", "R"), ("scala", "scala")):
        nb = new_notebook(
            metadata={"kernelspec": {"name": name, "language": language, "display_name": name}}
        )
        nb.cells = [new_code_cell("library(mlflow)\nmlflow_log_metric('x', 1)  # log_metric(")]
        write(tmp_path / f"{name}.ipynb", nb)
    result = run_cli("check", "--select", "ALL", "r.ipynb", "scala.ipynb", cwd=tmp_path)
    assert result.returncode == 0
    assert "All checks passed" not in result.stdout
    assert result.stdout.splitlines()[-1] == "No findings. 2 files skipped (not Python)."
    assert "warning: r.ipynb: skipped: not a Python notebook (its language is R)" in result.stderr
    # from the cache as well
    again = run_cli("check", "--select", "ALL", "r.ipynb", "scala.ipynb", cwd=tmp_path)
    assert again.stdout == result.stdout and again.stderr == result.stderr


def test_cells_vscode_marks_as_python_are_checked_in_a_notebook_of_another_language(
    tmp_path: Path,
) -> None:
    """VS Code saved `language_info` C# (a polyglot notebook, or the wrong kernel once picked)
    while each cell says Python: those cells are checked; a cell marked C#, and one that
    names no language of its own (the notebook's, then), are not."""
    logging = (
        "for step in range(100):\n    mlflow.log_metric('loss', 1.0 / (step + 1), step=step)\n"
    )
    nb = new_notebook(metadata={"language_info": {"name": "csharp"}})
    nb.cells = [
        new_code_cell(
            "import mlflow\nnames = ['a', 'b']", metadata={"vscode": {"languageId": "python"}}
        ),
        new_code_cell(logging, metadata={"vscode": {"languageId": "python"}}),
        new_code_cell(logging, metadata={"vscode": {"languageId": "csharp"}}),
        new_code_cell(logging),
    ]
    write(tmp_path / "polyglot.ipynb", nb)
    result = run_cli("check", "--select", "MLF101", "--output-format", "concise", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if ": MLF" in line]
    assert lines == [
        "polyglot.ipynb:cell 2:2:5: MLF101 `mlflow.log_metric` in a loop: one request per iteration"
    ]
    # every cell in another language: the notebook is skipped as before
    for cell in nb.cells:
        cell.metadata = {"vscode": {"languageId": "csharp"}}
    write(tmp_path / "polyglot.ipynb", nb)
    skipped = run_cli("check", "--select", "MLF101", ".", cwd=tmp_path)
    assert skipped.returncode == 0
    assert "skipped: not a Python notebook (its language is csharp)" in skipped.stderr


def test_statistics_do_not_count_failed_files_as_parsed(tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_bytes(b"[]")
    write(tmp_path / "wip.ipynb", broken_notebook())
    (tmp_path / "ok.py").write_text(
        "import mlflow\nmlflow.set_tag('a', 1)\nmlflow.set_tag('b', 2)\n"
    )
    result = run_cli("check", "--statistics", "--no-cache", ".", cwd=tmp_path)
    assert "3 files checked, 1 parsed" in result.stdout, result.stdout


# --- the language server ----------------------------------------------------------------------------
def test_language_server_checks_notebook_cells(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.mlflow-lint]\nselect = ['ALL']\n")
    nb = broken_notebook()
    nb.cells.insert(1, new_code_cell("%%bash\necho 0012"))
    notebook_uri = (tmp_path / "wip.ipynb").as_uri()
    cells = []
    documents = []
    for number, cell in enumerate(nb.cells):
        uri = f"vscode-notebook-cell:{tmp_path / 'wip.ipynb'}#C{number}"
        kind = 2 if cell.cell_type == "code" else 1
        cells.append({"kind": kind, "document": uri})
        language = "python" if kind == 2 else "markdown"
        documents.append({"uri": uri, "languageId": language, "version": 1, "text": cell.source})
    client = Client(tmp_path, capabilities())
    try:
        client.initialize(tmp_path)
        client.notify(
            "notebookDocument/didOpen",
            {
                "notebookDocument": {
                    "uri": notebook_uri,
                    "notebookType": "jupyter-notebook",
                    "version": 1,
                    "cells": cells,
                },
                "cellTextDocuments": documents,
            },
        )
        found = {d["uri"]: client.diagnostics(d["uri"]) for d in documents}
    finally:
        client.close()
    codes = {uri.rsplit("#", 1)[1]: [d.get("code") for d in diags] for uri, diags in found.items()}
    # the same cells as `mlflow-lint check` (cell 2 here is the %%bash cell, skipped)
    assert codes == {
        "C0": [],
        "C1": [],
        "C2": ["MLF101"],
        "C3": [],
        "C4": [None],
        "C5": [],
        "C6": ["MLF104"],
    }
    (error,) = found[documents[4]["uri"]]
    assert error["severity"] == 1 and "SyntaxError" in error["message"]
    (loop,) = found[documents[2]["uri"]]
    assert loop["range"]["start"] == {"line": 1, "character": 4}


def test_flake8_checks_a_notebook_it_is_given(tmp_path: Path) -> None:
    write(tmp_path / "train.ipynb", databricks_notebook())
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "MLF", "train.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    lines = result.stdout.splitlines()
    assert [line.split(": ")[1][:6] for line in lines] == ["MLF103", "MLF101"], result.stdout
    assert lines[0].startswith("train.ipynb:1:1: MLF103 cell 7:3:5: 2 consecutive")


LOOPS = """\
with mlflow.start_run():
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("acc", 0.5, step=step)
"""


@pytest.mark.parametrize("unsafe", [[], ["--unsafe-fixes"]])
@pytest.mark.parametrize("diff", [[], ["--diff"]])
def test_fix_accounts_for_every_finding(tmp_path: Path, unsafe: list[str], diff: list[str]) -> None:
    """Every finding `check` reports is fixed, made moot by another fix (two calls merged into
    one `log_metrics` leave no call to buffer), or remaining: the counts add up, in a notebook
    as in a Python file."""
    nb = new_notebook(metadata=PYTHON_METADATA)
    nb.cells = [
        new_code_cell("%matplotlib inline\nimport mlflow"),
        new_code_cell(LOOPS),
        new_code_cell(
            "for i in range(3):\n    mlflow.log_metric('x', i)\nmlflow.set_tag('a', 1)\nmlflow.set_tag('b', 2)"
        ),
    ]
    write(tmp_path / "train.ipynb", nb)
    (tmp_path / "train.py").write_text("import mlflow\n" + LOOPS)
    for name in ("train.ipynb", "train.py"):
        check = run_cli("check", "--select", "ALL", *unsafe, name, cwd=tmp_path)
        found = len(check.stdout.splitlines()) - 1
        fixed = run_cli("fix", "--select", "ALL", *unsafe, *diff, name, cwd=tmp_path)
        summary = fixed.stdout.splitlines()[-1]
        counts = _counts(summary)
        assert sum(counts.values()) == found, (name, check.stdout, summary)


def _counts(summary: str) -> dict[str, int]:
    """fixed, moot and remaining findings of a `fix` summary line."""
    patterns = {
        "fixed": r"(?:Fixed|Would fix) (\d+) findings?",
        "moot": r"(\d+) findings? (?:would be )?made moot",
        "remaining": r"(\d+) findings? (?:remaining|would remain)",
    }
    found = {kind: re.search(pattern, summary) for kind, pattern in patterns.items()}
    return {kind: int(match.group(1)) if match else 0 for kind, match in found.items()}


# --- IPython's own input transformers as the oracle ------------------------------------------------
IPYTHON_CELLS = [
    "%matplotlib inline\nimport mlflow",
    "%pip install -q mlflow\nimport mlflow",
    "x = %time f()\ny = !ls\nz?\n?w\nq??",
    "%%time\nx = 1\n%time y = 2",
    "%%capture out\nimport mlflow\n!echo hi",
    "for i in range(3):\n    !echo {i}\n    %time f(i)\n",
    "s = '''\n%not a magic\n!nor this\n'''\n!but this",
    "f(a,\n  b)\n%magic \\\n  continued \\\n  lines",
    "x = 1  # a comment?\ny = 'what?'\nhelp?",
    "a = b \\\n  + c\n%x",
    "  %time x\n  y = 1",
    "\n\n%%time\nx = 1",
    "print(1) ; !ls",
    "def f():\n    !ls\n    x = %who_ls\n    return x",
    "%run ./setup\n%load_ext autoreload",
    "/print x\n,print y\n;print a b",
    "x = 1\ny = (2 +\n     3) \\\n    % 4",
    "d = {'a': 1}\nd['a'] %= 2",
    "%sql SELECT 1\nx = 1",
    "x = 1\ndef f(:\n    pass",
]


@pytest.mark.parametrize("source", IPYTHON_CELLS)
def test_cells_parse_as_ipython_transforms_them(source: str) -> None:
    """A cell in the notebook's namespace parses after our placeholders exactly when it parses
    after IPython's input transformers (TransformerManager, what Jupyter runs)."""
    from IPython.core.inputtransformer2 import TransformerManager

    from mlflow_lint import notebook as nb_module

    def parses(text: str) -> bool:
        try:
            compile(text, "cell", "exec", dont_inherit=True)
        except SyntaxError:
            return False
        return True

    cell = nb_module._virtual_cell(0, source, "NONCE", [])
    assert parses(cell.text) == parses(TransformerManager().transform_cell(source)), cell.text
