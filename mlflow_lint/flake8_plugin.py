"""The flake8 plugin: `flake8 --select MLF` reports what `mlflow-lint check --select ALL` does.

A thin shell over the engine, no rule logic of its own:

- flake8 decides what is shown (`--select`, `--extend-select`, `--ignore`, `--extend-ignore`,
  `--per-file-ignores`, `# noqa`), so every rule runs with noqa handling off in the engine.
  Opt-in rules (`default_enabled = False`) go on flake8's default ignore list: they are hidden
  unless selected explicitly, as with `mlflow-lint check`.
- Rule options come from the nearest `pyproject.toml` `[tool.mlflow-lint]` table; its
  selection keys (select, ignore, per-file-ignores) are the CLI's business and unused here.
- A file that cannot hold a finding (no "mlflow" and no rule's call name in it) is never
  parsed: the same prefilter as the CLI runs on the joined lines first.
- A file flake8 can parse but the engine cannot becomes one `MLF000` diagnostic, never a
  traceback. `MLF000` is no rule: `mlflow-lint rules` does not list it.
- Findings with a fix say so at the end of the message; flake8 itself never fixes anything.
- flake8 does not look for notebooks; an `.ipynb` file named explicitly (or matched by
  `--filename`) is checked as `mlflow-lint check` checks it (notebook.py), and each finding
  is reported on the file's first line with its cell, line and column in the message: flake8
  can only point into the JSON text.

flake8 (7) classifies a plugin by its parameters and only knows `tree`, `logical_line` and
`physical_line` plugins, and passes `tree` to every tree plugin, so this plugin accepts `tree`
and ignores it: flake8 builds that ast once per file anyway (pyflakes needs it), and the engine
works on the source text (`lines`), parsed by libcst only after the prefilter.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Optional, Protocol

from mlflow_lint import __version__, dispatch, engine, notebook
from mlflow_lint.config import ConfigError, Settings, build_settings, find_config
from mlflow_lint.rule import Violation
from mlflow_lint.rules import ALL_RULES
from mlflow_lint.sourcefile import SourceError

ERROR_CODE = "MLF000"  # not a rule: "this file could not be analysed"
FIX_HINT = " (fixable with `mlflow-lint fix`)"
UNSAFE_FIX_HINT = " (fixable with `mlflow-lint fix --unsafe-fixes`)"

Result = tuple[int, int, str, type["MlflowLintPlugin"]]


class _OptionManager(Protocol):
    """The part of flake8's OptionManager this plugin uses (flake8 ships no type hints)."""

    def extend_default_ignore(self, error_codes: Sequence[str]) -> None: ...


class MlflowLintPlugin:
    name = "mlflow-lint"
    version = __version__

    def __init__(self, lines: Sequence[str], filename: str, tree: Optional[ast.AST] = None) -> None:
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, parser: _OptionManager) -> None:
        opt_in = [rule.code for rule in ALL_RULES if not rule.default_enabled]
        if opt_in:
            parser.extend_default_ignore(opt_in)

    def run(self) -> Iterator[Result]:
        text = "".join(self.lines)
        if text.startswith("\ufeff"):  # flake8 strips it already; other callers might not
            text = text[1:]
        if dispatch.is_notebook(self.filename):
            yield from self._notebook(text)
            return
        if not engine.may_hold_findings(text.encode("utf-8", "surrogatepass"), ALL_RULES):
            return
        try:
            settings = _settings(_config_for(os.path.dirname(os.path.abspath(self.filename))))
            rules = settings.rules_for(self.filename)
            violations = engine.analyze(text, self.filename, rules, settings)
        except SourceError as error:
            yield self._error(error.message, error.line, error.column)
            return
        except ConfigError as error:
            yield self._error(str(error), 1, 0)
            return
        for violation in violations:
            yield (
                violation.line,
                violation.column,
                f"{violation.code} {flake8_message(violation)}{_hint(violation, settings)}",
                type(self),
            )

    def _notebook(self, text: str) -> Iterator[Result]:
        try:
            settings = _settings(_config_for(os.path.dirname(os.path.abspath(self.filename))))
        except ConfigError as error:
            yield self._error(str(error), 1, 0)
            return
        result = notebook.check_source(
            text.encode("utf-8", "surrogatepass"), self.filename, settings
        )
        failed = result.error
        if failed is not None:
            where = f"cell {failed.cell}:{failed.line}:{failed.column + 1}: " if failed.cell else ""
            yield self._error(where + failed.message, 1 if failed.cell else failed.line, 0)
        for v in result.violations:
            where = f"cell {v.cell}:{v.line}:{v.column + 1}"
            yield 1, 0, f"{v.code} {where}: {v.message}{_hint(v, settings)}", type(self)

    def _error(self, message: str, line: int, column: int) -> Result:
        text = f"{ERROR_CODE} mlflow-lint could not analyse this file: {message}"
        return max(line, 1), max(column, 0), text, type(self)


def flake8_message(violation: Violation) -> str:
    """flake8 has one line per finding: the message, then `; ` and the first sentence of the
    remedy (`help`), its first letter in lower case (docs/usage.md says why)."""
    if not violation.help:
        return violation.message
    first = _SENTENCE_END.split(violation.help.strip(), maxsplit=1)[0].rstrip(".")
    if first[:1].isupper() and not first[1:2].isupper():
        first = first[0].lower() + first[1:]
    return f"{violation.message}; {first}"


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")


def _hint(violation: Violation, settings: Settings) -> str:
    if violation.fix is None:
        return ""
    return FIX_HINT if engine.applicable(violation, settings.unsafe_fixes) else UNSAFE_FIX_HINT


@lru_cache(maxsize=256)
def _config_for(directory: str) -> Optional[Path]:
    return find_config(directory)


@lru_cache(maxsize=16)
def _settings(config: Optional[Path]) -> Settings:
    """Every rule, noqa left to flake8, options from the config; per-file-ignores are flake8's."""
    settings = build_settings(config, select=["ALL"], respect_noqa=False)
    return replace(settings, per_file_ignores=())
