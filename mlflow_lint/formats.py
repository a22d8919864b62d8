"""The output formats: `--output-format full|concise|json|github|sarif` and `--output-file`.

- full (the default on a terminal): each finding with its source lines, a caret under it, the
  remedy (`help:`) and the fix as a diff; see `report.FullReporter`.
- concise (the default otherwise; `text` is its old name): `path:line:col: CODE message`, one
  line per finding, streamed; see `report.ConciseReporter`.
- github: one GitHub Actions workflow command per finding (`::warning ...`) and per file
  that could not be checked (`::error ...`), streamed, then the usual summary line.
- json: one JSON document with every finding, error and the counts; written at the end.
- sarif: one SARIF 2.1.0 log; written at the end.

The JSON and SARIF documents need every result first: the reporters keep the findings (not the
files' contents) and write the document in `summary()`. Lines and columns are 1-based in every
format; an end column is the column just after the last character of the range (as SARIF's
`endColumn`), counted in characters (Unicode code points).

With `--output-file PATH` the report goes to PATH, byte for byte what standard output would
have received (never in colour), and standard output gets only the one-line summary (none with
`--quiet`).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, TextIO
from urllib.parse import quote

import click

from mlflow_lint import __version__
from mlflow_lint.report import ConciseReporter, FullReporter, Reporter, Style
from mlflow_lint.results import FileError
from mlflow_lint.rule import Edit, Rule, Violation

FORMATS = ("full", "concise", "json", "github", "sarif")
ALIASES = {"text": "concise"}  # `--format text`, from before `--output-format`
JSON_FORMAT_VERSION = 1
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"


def make_reporter(
    output_format: str,
    output_file: Optional[str],
    *,
    unsafe_fixes: bool,
    codes: Sequence[str] = (),
    quiet: bool = False,
    stream: Optional[TextIO] = None,
    stream_busy: bool = False,
    mode: str = "check",
    batch: bool = False,
    color: bool = False,
) -> Reporter:
    """The reporter for `--output-format` writing to `--output-file`, or to `stream` (standard
    output). `codes` are the enabled rules, described in SARIF's rule metadata; `stream_busy`:
    the stream carries something else too (a diff, fixed code), so a JSON or SARIF document
    needs a file of its own. `color` applies to the stream only, never to a file."""
    output_format = ALIASES.get(output_format, output_format)
    stream = stream if stream is not None else sys.stdout
    if output_file is None and stream_busy and output_format in ("json", "sarif"):
        raise click.UsageError(
            f"--diff writes the diff to standard output: add --output-file for the "
            f"{output_format} report"
        )
    out, console = stream, None
    if output_file is not None:
        try:
            out = open(output_file, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as error:
            raise click.UsageError(
                f"cannot write {output_file}: {error.strerror or error}"
            ) from None
        console = stream
        color = False
    common: dict[str, Any] = {
        "unsafe_fixes": unsafe_fixes,
        "quiet": quiet,
        "console": console,
        "owns_out": output_file is not None,
        "mode": mode,
        "batch": batch,
        "style": Style(color),
        "warnings": sys.stderr,
    }
    if output_format == "sarif":
        return SarifReporter(out, codes=codes, **common)
    classes: dict[str, type[Reporter]] = {
        "full": FullReporter,
        "concise": ConciseReporter,
        "json": JsonReporter,
        "github": GithubReporter,
    }
    return classes[output_format](out, **common)


# --- json ----------------------------------------------------------------------------------------
def _edit_json(edit: Edit) -> dict[str, Any]:
    return {
        "line": edit.start_line,
        "column": edit.start_column + 1,
        "end_line": edit.end_line,
        "end_column": edit.end_column + 1,
        "content": edit.content,
        "cell": edit.cell,  # notebooks: 1-based cell index; lines are then within the cell
    }


def violation_json(path: str, v: Violation, fixable: bool) -> dict[str, Any]:
    return {
        "kind": "finding",
        "code": v.code,
        "name": v.name,
        "message": v.message,
        "help": v.help or None,
        "path": path,
        "line": v.line,
        "column": v.column + 1,
        "end_line": v.end_line,
        "end_column": v.end_column + 1,
        "cell": v.cell,  # notebooks: 1-based cell index (among all cells); lines within it
        "fixable": fixable,
        "fix_safety": v.fix.safety.value if v.fix else None,
        "fix": (
            {"description": v.fix.description, "edits": [_edit_json(e) for e in v.fix.edits]}
            if v.fix
            else None
        ),
    }


def error_json(path: str, error: FileError) -> dict[str, Any]:
    return {
        "kind": "error",
        "code": None,
        "name": None,
        "message": error.message,
        "help": None,
        "path": path,
        "line": error.line,
        "column": error.column + 1,
        "end_line": None,
        "end_column": None,
        "cell": error.cell,
        "fixable": False,
        "fix_safety": None,
        "fix": None,
    }


class JsonReporter(Reporter):
    """`{"version": 1, "tool": ..., "findings": [...], "summary": {...}}`, written at the end.
    `findings` holds the findings and the files that could not be checked (`"kind": "error"`,
    `"code": null`), in the order the text format prints them."""

    def __init__(self, out: TextIO, **kwargs: Any) -> None:
        super().__init__(out, **kwargs)
        self.items: list[dict[str, Any]] = []

    def error(self, path: str, error: FileError) -> None:
        self.items.append(error_json(path, error))

    def violation(self, path: str, violation: Violation, fixable: bool) -> None:
        self.items.append(violation_json(path, violation, fixable))

    def summary(self) -> None:
        self.close()
        self.echo_summary()

    def finish(self) -> None:
        document = {
            "version": JSON_FORMAT_VERSION,
            "tool": {"name": "mlflow-lint", "version": __version__},
            "findings": self.items,
            "summary": {
                "files_checked": self.files_seen,
                "files_parsed": self.files_parsed,
                "findings": self.findings,
                "fixable": self.fixable,
                "unsafe_fixes_available": self.hidden_unsafe,
                "errors": self.errors,
                "fixed": self.fixed,
                "moot": self.moot,
                "files_changed": self.files_changed,
                "files_skipped": self.files_skipped,
                "by_code": dict(sorted(self.by_code.items())),
                "fixed_by_code": dict(
                    sorted(sum((codes for _, _, codes in self.fixed_by_file), Counter()).items())
                ),
            },
        }
        json.dump(document, self.out, indent=2)
        self.out.write("\n")


# --- github --------------------------------------------------------------------------------------
def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, properties: dict[str, object], message: str) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{command} {props}::{escape_data(message)}\n"


def with_help(v: Violation) -> str:
    """The message and, on the next line, the remedy (GitHub and SARIF show both)."""
    return f"{v.message}\nhelp: {v.help}" if v.help else v.message


class GithubReporter(ConciseReporter):
    """`::warning file=P,line=L,col=C,endLine=L2,endColumn=C2,title=CODE (name)::message` per
    finding and `::error file=P,line=L,col=C,title=mlflow-lint error::message` per file that
    could not be checked, streamed; then `--statistics` and the summary line, which the
    Actions log shows as plain text. GitHub takes columns only for a range on one line, so a
    finding spanning several lines gets `line` and `endLine` only."""

    def error(self, path: str, error: FileError) -> None:
        if error.cell is not None:
            message = f"cell {error.cell}, line {error.line}: {error.message}"
            properties: dict[str, object] = {"file": path, "title": "mlflow-lint error"}
            self.out.write(workflow_command("error", properties, message))
            return
        properties = {
            "file": path,
            "line": error.line,
            "col": error.column + 1,
            "title": "mlflow-lint error",
        }
        self.out.write(workflow_command("error", properties, error.message))

    def violation(self, path: str, v: Violation, fixable: bool) -> None:
        if v.cell is not None:  # a notebook: cell lines would point into the JSON file
            title = f"{v.code} ({v.name})"
            message = f"cell {v.cell}, line {v.line}: {with_help(v)}"
            self.out.write(workflow_command("warning", {"file": path, "title": title}, message))
            return
        properties: dict[str, object] = {"file": path, "line": v.line}
        if v.end_line == v.line:
            properties["col"] = v.column + 1
        properties["endLine"] = v.end_line
        if v.end_line == v.line:
            properties["endColumn"] = v.end_column + 1
        properties["title"] = f"{v.code} ({v.name})"
        self.out.write(workflow_command("warning", properties, with_help(v)))


# --- sarif ---------------------------------------------------------------------------------------
def artifact_location(path: str) -> dict[str, str]:
    """A relative path under the current directory becomes a relative URI against %SRCROOT%
    (the current directory, given in `originalUriBaseIds`); any other path a file: URI."""
    absolute = os.path.abspath(path)
    if not os.path.isabs(path):
        try:
            relative = Path(os.path.relpath(absolute, os.getcwd())).as_posix()
        except ValueError:  # another drive (Windows)
            relative = os.pardir
        if relative != os.pardir and not relative.startswith(os.pardir + "/"):
            return {"uri": quote(relative), "uriBaseId": SRCROOT}
    return {"uri": Path(absolute).as_uri()}


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    """SARIF regions: 1-based lines and columns, endColumn just after the last character."""
    return {
        "startLine": line,
        "startColumn": column + 1,
        "endLine": end_line,
        "endColumn": end_column + 1,
    }


def rule_descriptor(rule: type[Rule]) -> dict[str, Any]:
    """SARIF rule metadata: `help.markdown` is what `mlflow-lint rule CODE` prints (examples
    included); `help.text` is its prose without the examples."""
    from mlflow_lint import docs  # the rule classes: only for SARIF, not for every run

    _, sections = docs.doc_sections(rule)
    prose = [rule.summary, f"{docs.default_text(rule)} {docs.fix_label(rule)}"]
    prose += [f"{name}: {sections[name]}" for name in docs.LEADING_SECTIONS if name in sections]
    if sections.get(docs.FIX_SECTION):
        prose.append(f"{docs.FIX_SECTION}: {sections[docs.FIX_SECTION]}")
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": sections.get("What it does", rule.summary)},
        "help": {"text": "\n\n".join(prose), "markdown": docs.render_rule(rule)},
        "defaultConfiguration": {"level": "warning", "enabled": rule.default_enabled},
        "properties": {"fixSafety": rule.fix_safety.value if rule.fix_safety else None},
    }
    url = docs.rule_url(rule.code)  # only when [project.urls] says where the docs are
    if url:
        descriptor["helpUri"] = url
    return descriptor


class SarifReporter(Reporter):
    """One SARIF 2.1.0 log with one run, written at the end. Findings are results (level
    "warning"); a file that could not be checked is a tool execution notification (level
    "error"), as SARIF has it for a target the tool could not analyse, and makes the
    invocation's `executionSuccessful` false. A finding whose fix `mlflow-lint fix` would
    apply with the current settings carries it in `fixes`."""

    def __init__(self, out: TextIO, codes: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(out, **kwargs)
        self.codes = tuple(codes)
        self.results: list[tuple[str, Violation, bool]] = []
        self.notifications: list[dict[str, Any]] = []

    def error(self, path: str, error: FileError) -> None:
        self.notifications.append(
            {
                "level": "error",
                "message": {"text": error.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": artifact_location(path),
                            "region": {"startLine": error.line, "startColumn": error.column + 1},
                        }
                    }
                ],
            }
        )

    def violation(self, path: str, violation: Violation, fixable: bool) -> None:
        self.results.append((path, violation, fixable))

    def summary(self) -> None:
        self.close()
        self.echo_summary()

    def finish(self) -> None:
        from mlflow_lint import docs
        from mlflow_lint.rules import ALL_RULES

        codes = set(self.codes) | {v.code for _, v, _ in self.results}
        rules = [rule for rule in ALL_RULES if rule.code in codes]
        index = {rule.code: i for i, rule in enumerate(rules)}
        driver: dict[str, Any] = {
            "name": "mlflow-lint",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": [rule_descriptor(rule) for rule in rules],
        }
        url = docs.project_url()
        if url:
            driver["informationUri"] = url
        run: dict[str, Any] = {
            "tool": {"driver": driver},
            "invocations": [
                {
                    "executionSuccessful": not self.errors,
                    "toolExecutionNotifications": self.notifications,
                }
            ],
            "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri().rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": [
                self._result(path, v, fixable, index[v.code]) for path, v, fixable in self.results
            ],
        }
        log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
        json.dump(log, self.out, indent=2)
        self.out.write("\n")

    @staticmethod
    def _result(path: str, v: Violation, fixable: bool, rule_index: int) -> dict[str, Any]:
        location = artifact_location(path)
        physical: dict[str, Any] = {"artifactLocation": location}
        message = with_help(v)
        if v.cell is None:
            physical["region"] = _region(v.line, v.column, v.end_line, v.end_column)
        else:  # a notebook cell has no region in the .ipynb file: name the cell instead
            message = f"cell {v.cell}, line {v.line}: {message}"
        result: dict[str, Any] = {
            "ruleId": v.code,
            "ruleIndex": rule_index,
            "level": "warning",
            "message": {"text": message},
            "locations": [{"physicalLocation": physical}],
        }
        properties: dict[str, Any] = {}
        if v.help:
            properties["help"] = v.help
        if v.cell is not None:
            properties.update(cell=v.cell, line=v.line, column=v.column + 1)
        if properties:
            result["properties"] = properties
        if fixable and v.fix is not None and v.cell is None:
            result["fixes"] = [
                {
                    "description": {"text": v.fix.description},
                    "artifactChanges": [
                        {
                            "artifactLocation": location,
                            "replacements": [
                                {
                                    "deletedRegion": _region(
                                        e.start_line, e.start_column, e.end_line, e.end_column
                                    ),
                                    "insertedContent": {"text": e.content},
                                }
                                for e in v.fix.edits
                            ],
                        }
                    ],
                    "properties": {"safety": v.fix.safety.value},
                }
            ]
        return result
