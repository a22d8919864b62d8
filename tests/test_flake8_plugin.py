"""The flake8 plugin, run through the real `flake8` of this environment: it reports what the
CLI reports, and flake8's own machinery (select, ignore, noqa, per-file-ignores, show-source,
E999) keeps working around it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import libcst
import pytest
from conftest import ROOT, RULES_DIR, run_cli

from mlflow_lint import engine
from mlflow_lint.flake8_plugin import MlflowLintPlugin, flake8_message
from mlflow_lint.rule import Violation
from mlflow_lint.rules import ALL_RULES

FLAKE8 = Path(sys.executable).parent / "flake8"
SAFE_HINT = " (fixable with `mlflow-lint fix`)"
UNSAFE_HINT = " (fixable with `mlflow-lint fix --unsafe-fixes`)"
FLAGGED = "import mlflow\n\nfor step in range(3):\n    mlflow.log_metric('loss', 0.1, step=step)\n"
OPT_IN = [rule.code for rule in ALL_RULES if not rule.default_enabled]


def run_flake8(*args: str, cwd: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
    """The installed flake8, ignoring any configuration file (--isolated)."""
    env = {**os.environ}
    env.pop("PRE_COMMIT", None)
    result = subprocess.run(
        [str(FLAKE8), "--isolated", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def cli_findings(*args: str, cwd: Optional[Path] = None, select: str = "ALL") -> list[str]:
    """The CLI's finding lines, with the `[*]` marker turned into the plugin's fix hint: the
    only difference between the two outputs. `[*]` means "`mlflow-lint fix` fixes this";
    a fix that only `--unsafe-fixes` applies is unmarked by default and marked with it."""
    # --no-force-exclude: this repository's configuration keeps the fixtures (rules/) away
    default = run_cli("check", "--no-force-exclude", "--select", select, *args, cwd=cwd)
    unsafe = run_cli(
        "check", "--no-force-exclude", "--select", select, "--unsafe-fixes", *args, cwd=cwd
    )
    document = run_cli(
        "check", "--no-force-exclude", "--select", select, "--output-format", "json", *args, cwd=cwd
    )
    for result in (default, unsafe):
        assert "error:" not in result.stdout, result.stdout
        assert result.returncode in (0, 1), result.stdout + result.stderr
    # flake8's line also carries the first sentence of the remedy (flake8_message)
    helps = [f for f in json.loads(document.stdout)["findings"] if f["kind"] == "finding"]
    lines = []
    for plain, with_unsafe, finding in zip(
        _findings(default.stdout), _findings(unsafe.stdout), helps
    ):
        base, safe_fix = _strip_marker(plain)
        same, any_fix = _strip_marker(with_unsafe)
        assert base == same
        if finding["help"]:
            violation = Violation("", "", finding["message"], 1, 0, 1, 0, help=finding["help"])
            base = base.removesuffix(finding["message"]) + flake8_message(violation)
        lines.append(base + (SAFE_HINT if safe_fix else UNSAFE_HINT if any_fix else ""))
    return lines


def _findings(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.split(": ", 1)[-1].startswith("MLF")]


def _strip_marker(line: str) -> tuple[str, bool]:
    return (line[: -len(" [*]")], True) if line.endswith(" [*]") else (line, False)


# --- the same findings as the CLI ------------------------------------------------------------------
def test_flake8_select_mlf_matches_the_cli_on_the_examples() -> None:
    expected = cli_findings("rules", cwd=ROOT)
    assert expected, "the examples must produce findings"
    result = run_flake8("--select", "MLF", "rules", cwd=ROOT)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    assert sorted(result.stdout.splitlines()) == sorted(expected)
    # every example folder is covered, so every rule's messages are compared
    assert {line.split("/")[1] for line in expected} >= {
        p.name for p in RULES_DIR.iterdir() if p.is_dir() and p.name.startswith("MLF")
    }


def test_positions_agree_with_bom_crlf_and_wide_characters(tmp_path: Path) -> None:
    source = (
        "\ufeffimport mlflow\r\n"
        "\r\n"
        "for step in range(3):\r\n"
        "    label = 'éé😀'; mlflow.log_metric(label, 0.1, step=step)\r\n"
        "    (\r\n"
        "        mlflow.log_metric('x', 1)\r\n"
        "    )\r\n"
    )
    (tmp_path / "crlf.py").write_bytes(source.encode("utf-8"))
    (tmp_path / "cr.py").write_bytes(source.replace("\r\n", "\r").encode("utf-8"))
    for name in ("crlf.py", "cr.py"):
        expected = cli_findings(name, cwd=tmp_path, select="MLF101")
        assert [line.split(": ")[0] for line in expected] == [
            f"{name}:4:20",
            f"{name}:6:9",
        ]
        result = run_flake8("--select", "MLF101", name, cwd=tmp_path)
        assert result.stdout.splitlines() == expected


# --- flake8's own machinery around the plugin -------------------------------------------------
def test_flake8_without_mlf_selected_is_unchanged(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "import os\n" + FLAGGED + "x=1\n")
    result = run_flake8("--select", "E,F", "a.py", cwd=tmp_path)
    assert result.stdout.splitlines() == [
        "a.py:1:1: F401 'os' imported but unused",
        "a.py:6:2: E225 missing whitespace around operator",
    ]
    default = run_flake8("a.py", cwd=tmp_path).stdout.splitlines()
    assert [line.split(" ")[:2] for line in default] == [
        ["a.py:1:1:", "F401"],
        ["a.py:5:5:", "MLF101"],
        ["a.py:6:2:", "E225"],
    ]


def test_syntax_error_is_flake8s_e999_only(tmp_path: Path) -> None:
    write(tmp_path, "bad.py", "import mlflow\nfor s in range(3):\n    mlflow.log_metric('a', 1\n")
    result = run_flake8("bad.py", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    # the position and wording of the message depend on the Python version
    assert len(lines) == 1 and re.match(r"bad\.py:\d+:\d+: E999 SyntaxError: ", lines[0]), lines
    assert result.stderr == ""
    assert run_flake8("--select", "MLF", "bad.py", cwd=tmp_path).stdout == ""


def test_noqa_ignore_and_per_file_ignores(tmp_path: Path) -> None:
    write(tmp_path, "a.py", FLAGGED)
    write(tmp_path, "sub/b.py", FLAGGED.replace("step=step)", "step=step)  # noqa: MLF101"))
    write(tmp_path, "sub/c.py", FLAGGED.replace("step=step)", "step=step)  # noqa: E501"))
    write(tmp_path, "sub/d.py", FLAGGED.replace("step=step)", "step=step)  # noqa:MLF1"))
    shown = run_flake8("--select", "MLF", ".", cwd=tmp_path).stdout.splitlines()
    assert sorted(line.split(" ")[0] for line in shown) == ["./a.py:4:5:", "./sub/c.py:4:5:"]
    assert (
        run_flake8("--select", "MLF", "--disable-noqa", ".", cwd=tmp_path).stdout.count("MLF101")
        == 4
    )
    assert run_flake8("--extend-ignore", "MLF101", "a.py", cwd=tmp_path).stdout == ""
    assert run_flake8("--ignore", "MLF1", "a.py", cwd=tmp_path).stdout == ""
    per_file = run_flake8("--per-file-ignores", "sub/*.py:MLF101", ".", cwd=tmp_path)
    assert [line.split(" ")[1] for line in per_file.stdout.splitlines()] == ["MLF101"]
    assert per_file.stdout.startswith("./a.py:4:5: MLF101 ")


def test_show_source(tmp_path: Path) -> None:
    write(tmp_path, "a.py", FLAGGED)
    lines = run_flake8("--select", "MLF", "--show-source", "a.py", cwd=tmp_path).stdout.splitlines()
    assert lines[0].startswith("a.py:4:5: MLF101 `mlflow.log_metric` in a loop")
    assert lines[1:] == ["    mlflow.log_metric('loss', 0.1, step=step)", "    ^"]


def test_configured_selection_does_not_apply_but_a_bad_config_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.py", FLAGGED)
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.mlflow-lint]\nignore = ["MLF101"]\n[tool.mlflow-lint.per-file-ignores]\n"*" = ["MLF1"]\n',
    )
    assert run_cli("check", "a.py", cwd=tmp_path).returncode == 0
    result = run_flake8("--select", "MLF", "a.py", cwd=tmp_path)
    assert result.stdout.startswith("a.py:4:5: MLF101 "), "flake8's selection decides"

    write(tmp_path, "pyproject.toml", "[tool.mlflow-lint]\nbogus = 1\n")
    assert run_cli("check", "a.py", cwd=tmp_path).returncode == 2
    result = run_flake8("--select", "MLF", "a.py", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("a.py:1:1: MLF000 mlflow-lint could not analyse this file: ")
    assert "unknown key(s) in [tool.mlflow-lint]: bogus" in lines[0]


# --- MLF000: flake8 can parse the file, the engine cannot --------------------------------------
def test_engine_failure_is_one_mlf000_diagnostic(tmp_path: Path) -> None:
    chain = " and ".join(["a"] * (engine.MAX_AST_DEPTH + 100))
    write(tmp_path, "deep.py", FLAGGED + f"x = {chain}\n")
    write(tmp_path, "ok.py", FLAGGED)
    cli = run_cli("check", "deep.py", cwd=tmp_path)
    assert cli.returncode == 2
    (cli_error,) = [line for line in cli.stdout.splitlines() if ": error: " in line]
    position, message = cli_error.split(": error: ")

    result = run_flake8("--select", "MLF", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == ""
    assert sorted(result.stdout.splitlines()) == sorted(
        [
            f"./{position}: MLF000 mlflow-lint could not analyse this file: {message}",
            "./ok.py:4:5: MLF101 " + cli_findings("ok.py", cwd=tmp_path)[0].split(" MLF101 ")[1],
        ]
    )
    assert "expression too deeply nested" in message
    only = run_flake8("--select", "MLF000", ".", cwd=tmp_path).stdout.splitlines()
    assert [line.split(" ")[1] for line in only] == ["MLF000"]
    assert (
        run_flake8("--select", "MLF", "--extend-ignore", "MLF000", "deep.py", cwd=tmp_path).stdout
        == ""
    )
    assert "MLF000" not in run_cli("rules").stdout


# --- opt-in rules are hidden unless selected explicitly ---------------------------------------
class RecordingParser:
    def __init__(self) -> None:
        self.ignored: list[str] = []

    def extend_default_ignore(self, codes: list[str]) -> None:
        self.ignored.extend(codes)


def test_add_options_registers_exactly_the_opt_in_rules() -> None:
    parser = RecordingParser()
    MlflowLintPlugin.add_options(parser)
    assert parser.ignored == OPT_IN


@pytest.mark.parametrize(
    "code", OPT_IN or [pytest.param("", marks=pytest.mark.skip("no opt-in rules yet"))]
)
def test_opt_in_rules_need_an_explicit_selection(code: str) -> None:
    folder = RULES_DIR / code
    if not folder.is_dir():
        pytest.skip(f"rules/{code} has no examples yet")
    expected = [
        line
        for line in cli_findings(str(folder.relative_to(ROOT)), cwd=ROOT)
        if f": {code} " in line
    ]
    assert expected, f"rules/{code} must trigger {code}"
    default = run_flake8(str(folder.relative_to(ROOT)), cwd=ROOT).stdout
    assert f": {code} " not in default
    chosen = run_flake8("--extend-select", code, str(folder.relative_to(ROOT)), cwd=ROOT).stdout
    assert sorted(line for line in chosen.splitlines() if f": {code} " in line) == sorted(expected)


# --- in-process: the prefilter keeps libcst away from files that cannot hold a finding --------
@pytest.fixture
def parse_counter(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"analyze": 0, "parse_module": 0}
    analyze, parse_module = engine.analyze, libcst.parse_module

    def counting_analyze(*args: Any, **kwargs: Any) -> Any:
        calls["analyze"] += 1
        return analyze(*args, **kwargs)

    def counting_parse_module(*args: Any, **kwargs: Any) -> Any:
        calls["parse_module"] += 1
        return parse_module(*args, **kwargs)

    monkeypatch.setattr(engine, "analyze", counting_analyze)
    monkeypatch.setattr(libcst, "parse_module", counting_parse_module)
    return calls


@pytest.mark.parametrize(
    "source",
    [
        "import os\nfor step in range(3):\n    logger.log_metric('loss', 0.1, step=step)\n",
        "import mlflow\nprint(mlflow.__version__)\n",  # mlflow, but no rule's call name
        "",
    ],
    ids=["no-mlflow", "no-trigger", "empty"],
)
def test_prefilter_skips_files_without_a_possible_finding(
    parse_counter: dict[str, int], source: str
) -> None:
    triggers = {name for rule in ALL_RULES for name in rule.triggers}
    assert "mlflow" not in source or not any(name in source for name in triggers)
    lines = source.splitlines(keepends=True)
    assert list(MlflowLintPlugin(lines=lines, filename="train.py").run()) == []
    assert parse_counter == {"analyze": 0, "parse_module": 0}


def test_plugin_in_process_reports_zero_based_columns(parse_counter: dict[str, int]) -> None:
    lines = ("\ufeff" + FLAGGED).splitlines(keepends=True)
    results = list(MlflowLintPlugin(lines=lines, filename="train.py").run())
    assert parse_counter == {"analyze": 1, "parse_module": 1}
    assert [(line, col, text.split(" ")[0]) for line, col, text, _ in results] == [(4, 4, "MLF101")]
    assert results[0][3] is MlflowLintPlugin


# --- what flake8 will not show is never computed ----------------------------------------------
def _flake8_in_process(tmp_path: Path, *args: str) -> tuple[str, bool]:
    """flake8 run in this process on one file (serially): its output, and whether libcst
    was imported (the engine analysed something)."""
    script = (
        "import sys\nfrom flake8.main.cli import main\n"
        f"try:\n    main({['--isolated', *args]!r})\nexcept SystemExit:\n    pass\n"
        "print('libcst' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return "\n".join(out[:-1]), out[-1] == "True"


@pytest.mark.parametrize(
    "args",
    [
        ("--extend-ignore", "MLF"),
        ("--select", "E,F"),
        ("--extend-ignore", "MLF0,MLF1,MLF2,MLF3,MLF4"),  # MLF9: opt-in
        ("--per-file-ignores", "a.py:MLF"),
        ("--select", "MLF9"),  # an opt-in rule the file does not trigger
    ],
)
def test_unselected_mlf_costs_nothing(tmp_path: Path, args: tuple[str, ...]) -> None:
    write(tmp_path, "a.py", FLAGGED)
    shown, analysed = _flake8_in_process(tmp_path, *args, "a.py")
    assert "MLF" not in shown
    assert not analysed


def test_selected_mlf_is_computed(tmp_path: Path) -> None:
    write(tmp_path, "a.py", FLAGGED)
    shown, analysed = _flake8_in_process(tmp_path, "--select", "MLF101", "a.py")
    assert shown.startswith("a.py:4:5: MLF101 ")
    assert analysed
