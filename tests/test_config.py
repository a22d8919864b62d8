"""[tool.mlflow-lint] in pyproject.toml, and how the command line overrides it."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cli
from test_cli import FLAGGED, write


def project(tmp_path: Path, table: str) -> Path:
    write(tmp_path, "pyproject.toml", f"[project]\nname = 'x'\n\n[tool.mlflow-lint]\n{table}\n")
    write(tmp_path, "src/train.py", FLAGGED)
    write(tmp_path, "scripts/sweep.py", FLAGGED)
    return tmp_path


def findings(result) -> list[str]:
    return [
        line.split(": ")[0] + " " + line.split(": ")[1].split()[0]
        for line in result.stdout.splitlines()
        if ": MLF" in line
    ]


def test_ignore_in_config_and_select_on_command_line(tmp_path: Path) -> None:
    project(tmp_path, 'ignore = ["MLF101"]')
    assert run_cli("check", ".", cwd=tmp_path).returncode == 0
    assert run_cli("check", "--select", "MLF101", ".", cwd=tmp_path).returncode == 1


def test_select_in_config_and_ignore_on_command_line(tmp_path: Path) -> None:
    project(tmp_path, 'select = ["MLF101"]')
    assert len(findings(run_cli("check", ".", cwd=tmp_path))) == 2
    assert run_cli("check", "--ignore", "MLF101", ".", cwd=tmp_path).returncode == 0


def test_per_file_ignores(tmp_path: Path) -> None:
    project(tmp_path, '[tool.mlflow-lint.per-file-ignores]\n"scripts/*" = ["MLF101"]')
    assert findings(run_cli("check", ".", cwd=tmp_path)) == ["src/train.py:3:5 MLF101"]


def test_exclude(tmp_path: Path) -> None:
    project(tmp_path, 'extend-exclude = ["scripts"]')
    assert findings(run_cli("check", ".", cwd=tmp_path)) == ["src/train.py:3:5 MLF101"]
    project(tmp_path, 'exclude = ["src"]')
    assert findings(run_cli("check", ".", cwd=tmp_path)) == ["scripts/sweep.py:3:5 MLF101"]


def test_nearest_pyproject_is_used_from_a_subdirectory(tmp_path: Path) -> None:
    project(tmp_path, 'ignore = ["MLF101"]')
    assert run_cli("check", ".", cwd=tmp_path / "src").returncode == 0
    assert run_cli("check", "src", cwd=tmp_path).returncode == 0


def test_pyproject_without_our_table_is_skipped(tmp_path: Path) -> None:
    project(tmp_path, 'ignore = ["MLF101"]')
    write(tmp_path, "src/pyproject.toml", "[project]\nname = 'inner'\n")
    assert run_cli("check", ".", cwd=tmp_path / "src").returncode == 0


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    project(tmp_path, 'selcet = ["MLF101"]')
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown key(s) in [tool.mlflow-lint]: selcet" in result.stderr


def test_unknown_code_is_an_error(tmp_path: Path) -> None:
    project(tmp_path, 'ignore = ["MLF999"]')
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown rule code or prefix 'MLF999'" in result.stderr


def test_wrong_type_is_an_error(tmp_path: Path) -> None:
    project(tmp_path, 'select = "MLF101"')
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "select must be a list of strings" in result.stderr


def test_explicit_config_option(tmp_path: Path) -> None:
    project(tmp_path, "")
    write(tmp_path, "other.toml", '[tool.mlflow-lint]\nignore = ["MLF101"]\n')
    assert run_cli("check", "--config", "other.toml", ".", cwd=tmp_path).returncode == 0
