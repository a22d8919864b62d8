"""A script's own code (module level, a notebook's cells) runs once per run, like a set-up
function: MLF102-MLF104 report a group of adjacent calls there from ten calls on (option
`min-calls-once`), not from two. The same group on a path that repeats within a run (an
epoch loop) is still reported from two (option `min-calls`)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import lint, run_cli
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

# (rule, the call as written for key number i)
KINDS = {
    "MLF102": 'mlflow.log_metric("m{i}", {i}.5)',
    "MLF103": 'mlflow.log_param("p{i}", {i})',
    "MLF104": 'mlflow.set_tag("t{i}", "v{i}")',
}


def module_group(code: str, count: int) -> str:
    calls = "\n".join("    " + KINDS[code].format(i=i) for i in range(count))
    return f"import mlflow\n\nwith mlflow.start_run():\n{calls}\n"


def epoch_group(code: str, count: int) -> str:
    call = KINDS[code]
    if code == "MLF102":  # a metric per epoch carries its step
        call = call.replace(")", ", step=epoch)")
    else:  # a key per epoch: no param logged twice, no tag overwritten
        call = call.replace('{i}"', '{i}_{{epoch}}"').replace('("', '(f"', 1)
    calls = "\n".join("        " + call.format(i=i) for i in range(count))
    return f"import mlflow\n\nwith mlflow.start_run():\n    for epoch in range(3):\n{calls}\n"


def own(source: str, code: str, path: str = "train.py") -> list[tuple[int, int, str]]:
    return [f for f in lint(source, select=[code], path=path) if f[2] == code]


@pytest.mark.parametrize("code", KINDS)
@pytest.mark.parametrize("count", range(2, 10))
def test_module_level_groups_below_ten_are_not_reported(code: str, count: int) -> None:
    assert own(module_group(code, count), code) == []


@pytest.mark.parametrize("code", KINDS)
def test_a_module_level_group_of_ten_is_reported(code: str) -> None:
    assert own(module_group(code, 10), code) == [(4, 5, code)]
    assert own(module_group(code, 11), code) == [(4, 5, code)]


@pytest.mark.parametrize("code", KINDS)
@pytest.mark.parametrize("count", [2, 3, 9])
def test_the_same_group_in_an_epoch_loop_is_reported(code: str, count: int) -> None:
    assert own(epoch_group(code, count), code) == [(5, 9, code)]


def test_a_sweep_loop_opening_a_run_per_trial_is_once_per_run() -> None:
    source = """
        import mlflow
        for lr in (0.1, 0.01, 0.001, 0.0001):
            with mlflow.start_run():
                mlflow.log_param("lr", lr)
                mlflow.log_param("epochs", 3)
    """
    assert own(source, "MLF103") == []


def write_notebook(path: Path, *cells: str) -> None:
    nb = new_notebook(
        cells=[new_markdown_cell("# Train"), *(new_code_cell(c) for c in cells)],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def findings(stdout: str) -> list[str]:
    return [" ".join(line.split(" ")[:3]) for line in stdout.splitlines() if ": MLF" in line]


def test_in_a_notebook_cell_too(tmp_path: Path) -> None:
    pairs = 'mlflow.log_param("model", "resnet")\nmlflow.log_param("epochs", 3)\n'
    ten = "\n".join(f'mlflow.set_tag("t{i}", "v")' for i in range(10)) + "\n"
    loop = (
        "for epoch in range(3):\n"
        '    mlflow.log_metric("loss", 0.1, step=epoch)\n'
        '    mlflow.log_metric("acc", 0.9, step=epoch)\n'
    )
    write_notebook(tmp_path / "train.ipynb", "import mlflow\nmlflow.start_run()", pairs, ten, loop)
    result = run_cli(
        "check",
        "--select",
        "MLF102,MLF103,MLF104",
        "--output-format",
        "concise",
        "train.ipynb",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert findings(result.stdout) == [
        "train.ipynb:cell 4:1:1: MLF104",
        "train.ipynb:cell 5:2:5: MLF102",
    ]


PAIR = """\
import mlflow

with mlflow.start_run():
    mlflow.log_param("model", "resnet")
    mlflow.log_param("epochs", 3)
"""


def test_min_calls_once_in_pyproject_brings_the_module_level_group_back(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(PAIR)
    before = run_cli("check", "--select", "MLF103", "train.py", cwd=tmp_path)
    assert before.returncode == 0, before.stdout + before.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.mlflow-lint.MLF103]\nmin-calls-once = 2\n")
    after = run_cli(
        "check", "--select", "MLF103", "--output-format", "concise", "train.py", cwd=tmp_path
    )
    assert after.returncode == 1, after.stdout + after.stderr
    assert after.stdout.splitlines()[0].startswith("train.py:4:5: MLF103 2 consecutive")
    fixed = run_cli("fix", "--select", "MLF103", "train.py", cwd=tmp_path)  # opt-in
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    text = (tmp_path / "train.py").read_text()
    assert "mlflow.log_params(" in text and "mlflow.log_param(" not in text, text


def test_a_function_that_opens_its_own_run_is_once_per_run_however_often_called() -> None:
    """A sweep's trial function opens the run around its logging: called in a loop, each
    call is a run of its own, so its few params are a handful once per run."""
    source = """\
        import mlflow

        def train(symbol, model_type):
            with mlflow.start_run(run_name=f"{symbol}-{model_type}"):
                mlflow.log_param("symbol", symbol)
                mlflow.log_param("model_type", model_type)
                mlflow.log_param("rows", 100)

        def main():
            for symbol in ("AAPL", "MSFT", "GOOG", "NVDA"):
                for model_type in ("rf", "linear"):
                    train(symbol, model_type)
        """
    assert lint(source) == []
    # the same calls logging into the caller's run repeat within it
    shared = source.replace('with mlflow.start_run(run_name=f"{symbol}-{model_type}"):', "if True:")
    assert [(line, code) for line, _, code in lint(shared)] == [(5, "MLF103")]
