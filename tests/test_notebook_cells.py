"""Notebook cells as IPython runs them: indented cells (IPython's `leading_indent`), a cell that
does not parse, and the summary line of a run that could not check a file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from conftest import ROOT, run_cli
from nbformat.v4 import new_code_cell, new_markdown_cell
from test_notebooks import findings, sources, write
from test_notebooks import notebook as notebook_of

from mlflow_lint import notebook as nb_module


def notebook(*sources: str) -> Any:
    """Code cells with these sources, exactly as given (no dedent: indentation is the point)."""
    return notebook_of(*(new_code_cell(source) for source in sources))


def errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": error: " in line]


INDENTED_WITH_MAGIC = (
    "  %matplotlib inline\n  import mlflow\n  for i in range(3):\n      mlflow.log_metric('x', i)"
)
INDENTED = (
    "    import mlflow\n\n    for i in range(3):\n        mlflow.log_metric('x', i, step=i)\n"
)
PLAIN_LOOP = "for i in range(3):\n    mlflow.log_metric('y', i, step=i)"


# --- indented cells: dedented as IPython does, positions in the cell as written -------------------
def test_indented_cell_with_magic_is_checked_with_its_columns(tmp_path: Path) -> None:
    write(tmp_path / "ind.ipynb", notebook(INDENTED_WITH_MAGIC, PLAIN_LOOP))
    result = run_cli("check", "--no-cache", "--select", "MLF101,MLF108", "ind.ipynb", cwd=tmp_path)
    assert errors(result.stdout) == [], result.stdout
    assert result.returncode == 1, result.stdout
    # `mlflow` of line 4 is at column 7 of the cell as written ("      mlflow..."), and the
    # later, unindented cell is checked too
    assert findings(result.stdout) == [
        "ind.ipynb:cell 1:4:7: MLF101",
        "ind.ipynb:cell 1:4:7: MLF108",
        "ind.ipynb:cell 2:2:5: MLF101",
    ], result.stdout


def test_indented_cell_without_magic_and_names_across_cells(tmp_path: Path) -> None:
    # `mlflow` imported in the indented cell resolves in the next one
    write(tmp_path / "ind.ipynb", notebook(INDENTED, PLAIN_LOOP))
    result = run_cli("check", "--no-cache", "--select", "MLF101", "ind.ipynb", cwd=tmp_path)
    assert errors(result.stdout) == [], result.stdout
    assert findings(result.stdout) == [
        "ind.ipynb:cell 1:4:9: MLF101",
        "ind.ipynb:cell 2:2:5: MLF101",
    ], result.stdout


def test_json_positions_of_an_indented_cell(tmp_path: Path) -> None:
    write(tmp_path / "ind.ipynb", notebook(INDENTED))
    result = run_cli(
        "check", "--no-cache", "--select", "MLF101", "--format", "json", "ind.ipynb", cwd=tmp_path
    )
    (finding,) = json.loads(result.stdout)["findings"]
    line = INDENTED.splitlines()[3]
    start = line.index("mlflow")
    assert (finding["cell"], finding["line"], finding["column"]) == (1, 4, start + 1)
    # the end too is in the cell as written: the end of the call
    assert finding["end_line"] == 4 and finding["end_column"] == len(line) + 1


def test_no_fix_is_offered_or_applied_inside_an_indented_cell(tmp_path: Path) -> None:
    # in functions named for a batch, where two calls are reported
    indented = (
        "  import mlflow\n  def on_batch_end():\n"
        "      mlflow.log_param('a', 1)\n      mlflow.log_param('b', 2)"
    )
    plain = "def on_batch_end():\n    mlflow.log_param('c', 3)\n    mlflow.log_param('d', 4)"
    path = tmp_path / "fix.ipynb"
    write(path, notebook(indented, plain))
    check = run_cli("check", "--no-cache", "--select", "MLF103", "fix.ipynb", cwd=tmp_path)
    lines = [line for line in check.stdout.splitlines() if " MLF103 " in line]
    assert [line.split(" MLF103 ")[0] for line in lines] == [
        "fix.ipynb:cell 1:3:7:",
        "fix.ipynb:cell 2:2:5:",
    ], check.stdout
    # reported in the indented cell, but fixable only in the other one
    assert not lines[0].endswith("[*]") and lines[1].endswith("[*]"), check.stdout
    fixed = run_cli("fix", "--select", "MLF103", "fix.ipynb", cwd=tmp_path)
    assert errors(fixed.stdout) == [], fixed.stdout
    assert "Fixed 1 finding in 1 file." in fixed.stdout, fixed.stdout
    assert sources(path) == [
        indented,
        "def on_batch_end():\n    mlflow.log_params({'c': 3, 'd': 4})",
    ]
    nbformat.validate(nbformat.read(str(path), as_version=4))


def test_unsafe_fix_needing_an_import_in_an_indented_cell_is_not_applied(tmp_path: Path) -> None:
    # MLF101's buffering fix adds `import time` next to the first import, here in an indented
    # cell: the whole fix is withheld rather than written unindented into that cell
    path = tmp_path / "loop.ipynb"
    before = write(path, notebook("  import mlflow", PLAIN_LOOP))
    result = run_cli("fix", "--unsafe-fixes", "--select", "MLF101", "loop.ipynb", cwd=tmp_path)
    assert errors(result.stdout) == [], result.stdout
    assert result.returncode == 1 and path.read_bytes() == before, result.stdout


def test_partly_indented_cell_follows_ipython(tmp_path: Path) -> None:
    # IPython removes the first line's indentation from the lines that start with it and leaves
    # the others alone: this cell runs, as `import mlflow\nfor ...:\n  mlflow.log_metric(...)`
    cell = "  import mlflow\nfor i in range(3):\n    mlflow.log_metric('x', i, step=i)"
    write(tmp_path / "part.ipynb", notebook(cell))
    result = run_cli("check", "--no-cache", "--select", "MLF101", "part.ipynb", cwd=tmp_path)
    assert errors(result.stdout) == [], result.stdout
    assert findings(result.stdout) == ["part.ipynb:cell 1:3:5: MLF101"], result.stdout


@pytest.mark.parametrize(
    ("lines", "removed"),
    [
        (["  a\n", "  b\n"], "  "),
        (["\n", "   \n", "\tx = 1\n", "\t\ty\n", "z\n"], "\t"),  # leading blank lines skipped
        (["x\n", "  y\n"], ""),  # the first line is not indented: nothing removed
        (["  \n", "\n"], ""),
        ([], ""),
    ],
)
def test_leading_indent_is_ipythons(lines: list[str], removed: str) -> None:
    assert nb_module._leading_indent(lines) == removed


@pytest.mark.parametrize(
    "source",
    [
        INDENTED_WITH_MAGIC,
        INDENTED,
        "  %%time\n  x = 1\n  %time f()",
        "  x = 1\ny = 2\n  z = 3\n  ",
        "\n\n  s = '''\n  text\n'''\r\n  !ls",
    ],
)
def test_indented_cells_map_back_to_their_source(source: str) -> None:
    magics: list[str] = []
    cell = nb_module._virtual_cell(0, source, "NONCE", magics)
    assert cell is not None
    module = nb_module.VirtualModule([cell], magics, "NONCE")
    assert module.sources == [source]
    compile(cell.text, "cell", "exec")  # dedented, every magic replaced


# --- a cell that does not parse -------------------------------------------------------------------
def test_invalid_indented_cell_is_one_error_at_its_position(tmp_path: Path) -> None:
    cells = ["import mlflow", PLAIN_LOOP, "  x = 1\n  def f(:\n      pass"]
    path = tmp_path / "bad.ipynb"
    before = write(path, notebook(*cells))
    for command, suffix in (("check", ""), ("fix", "; nothing fixed in this notebook")):
        result = run_cli(command, "bad.ipynb", cwd=tmp_path)  # `fix` uses no cache
        assert result.returncode == 2, result.stdout
        # `(` of line 2 is at column 8 of the cell as written
        assert errors(result.stdout) == [
            f"bad.ipynb:cell 3:2:9: error: SyntaxError: invalid syntax{suffix}"
        ]
        # one error, and the other cells are checked without the broken one
        assert findings(result.stdout) == ["bad.ipynb:cell 2:2:5: MLF101"]
    assert path.read_bytes() == before


def test_unexpected_indent_after_the_dedent_is_reported_in_the_cell(tmp_path: Path) -> None:
    nb = notebook(PLAIN_LOOP, "  x = 1\n      y = 2")
    nb.cells.insert(0, new_markdown_cell("intro"))
    write(tmp_path / "bad.ipynb", nb)
    result = run_cli("check", "--no-cache", "bad.ipynb", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    (error,) = errors(result.stdout)
    assert error.startswith("bad.ipynb:cell 3:2:"), error
    assert "SyntaxError: unexpected indent" in error


# --- the summary of a run with a file that could not be checked -----------------------------------
def test_summary_does_not_say_all_checks_passed_after_an_error(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import mlflow\nmlflow.log_metric('x', 1)\ndef f(:\n")
    (tmp_path / "clean.py").write_text("import mlflow\nmlflow.log_metric('x', 1)\n")
    result = run_cli("check", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    summary = result.stdout.splitlines()[-1]
    assert "All checks passed" not in result.stdout
    assert summary == "No findings. 1 file checked. 1 file could not be checked (see errors above)."
    clean = run_cli("check", "--no-cache", "clean.py", cwd=tmp_path)
    assert (
        clean.returncode == 0
        and clean.stdout.splitlines()[-1] == "All checks passed! 1 file checked."
    )


# --- docs/usage.md on the pre-commit hooks -----------------------------------------------------------
def test_usage_names_the_file_types_of_the_hooks() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    usage = (ROOT / "docs" / "usage.md").read_text()
    match = re.search(r"^Two hooks, both for ([^:]+):$", usage, re.M)
    assert match, "docs/usage.md lost the sentence about the hooks' file types"
    documented = match.group(1)
    names = {"python": "Python files", "jupyter": "Jupyter notebooks"}
    for hook in hooks:
        for kind in hook["types_or"]:
            assert names[kind] in documented, (kind, documented)
