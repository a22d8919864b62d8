from __future__ import annotations

import pytest
from conftest import lint

HEAD = "import mlflow\nfor step in range(3):\n"


@pytest.mark.parametrize(
    "comment, suppressed",
    [
        ("", False),
        ("  # noqa", True),
        ("  # NOQA", True),
        ("  # noqa: MLF101", True),
        ("  # noqa:MLF101", True),
        ("  # noqa: MLF102,MLF101", True),
        ("  # noqa: MLF102, MLF101", True),
        ("  # noqa: MLF1", True),  # flake8: a listed code that is a prefix suppresses
        ("  # noqa: MLF102", False),
        ("  # noqa: E501", False),
        ("  # some comment # noqa: MLF101", True),
    ],
)
def test_inline_noqa(comment: str, suppressed: bool) -> None:
    source = HEAD + f"    mlflow.log_metric('k', step){comment}\n"
    assert (lint(source, select=["MLF101"]) == []) is suppressed


def test_noqa_applies_to_the_reported_line_only() -> None:
    source = HEAD + "    mlflow.log_metric(\n        'k', step  # noqa\n    )\n"
    assert [code for _, _, code in lint(source, select=["MLF101"])] == ["MLF101"]


def test_noqa_after_a_multiline_string_covers_its_lines() -> None:
    # flake8 joins the lines of a token that spans lines (here a triple-quoted string)
    source = HEAD + '    mlflow.log_metric("""k\n""", step)  # noqa: MLF101\n'
    assert lint(source, select=["MLF101"]) == []


def test_file_level_flake8_noqa() -> None:
    assert lint("# flake8: noqa\n" + HEAD + "    mlflow.log_metric('k', step)\n") == []
