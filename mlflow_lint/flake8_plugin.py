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

- What flake8 will show decides what runs: flake8 hands every plugin its parsed options
  (`parse_options`), and its own style guide (select, ignore, extend-*, per-file-ignores, the
  default ignore list) tells which MLF codes it would report for a file. Only those rules run;
  with none, nothing does, and nothing of the engine or libcst is even imported
  (`--extend-ignore MLF`, `--select E,F` cost nothing).

flake8 (7) classifies a plugin by its parameters and only knows `tree`, `logical_line` and
`physical_line` plugins, and passes `tree` to every tree plugin. The engine works on the source
text (`lines`), parsed by libcst only after the prefilter; flake8's `tree` (built once per file
for pyflakes, from the same text) serves as the engine's ast gate instead of a second parse.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Optional, Protocol

from mlflow_lint import __version__
from mlflow_lint.catalogue import ALL_RULES

if TYPE_CHECKING:  # the rest of mlflow-lint is imported once a file is analysed
    import argparse
    from pathlib import Path

    from mlflow_lint.config import Settings
    from mlflow_lint.rule import Violation

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

    # The MLF codes flake8 reports, per file (see parse_options); None: all of them (the
    # plugin used without flake8's option parsing).
    selection: Optional[_Selection] = None

    def __init__(self, lines: Sequence[str], filename: str, tree: Optional[ast.AST] = None) -> None:
        self.lines = lines
        self.filename = filename
        self.tree = tree

    @classmethod
    def add_options(cls, parser: _OptionManager) -> None:
        opt_in = [rule.code for rule in ALL_RULES if not rule.default_enabled]
        if opt_in:
            parser.extend_default_ignore(opt_in)

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls.selection = _Selection.of(options)

    def run(self) -> Iterator[Result]:
        codes = self.selection.codes_for(self.filename) if self.selection else _ALL_CODES
        if not codes:
            return  # flake8 would show nothing of ours: nothing to do
        if codes == {ERROR_CODE}:
            codes = _ALL_CODES  # only "could not analyse": every rule decides what is analysed
        # only now: with MLF off, flake8 never pays for it
        from mlflow_lint import dispatch, engine
        from mlflow_lint.config import ConfigError
        from mlflow_lint.sourcefile import SourceError

        text = "".join(self.lines)
        stripped = text.startswith("\ufeff")  # flake8 strips it already; others might not
        if stripped:
            text = text[1:]
        if dispatch.is_notebook(self.filename):
            yield from self._notebook(text)
            return
        wanted = tuple(rule for rule in ALL_RULES if rule.code in codes)
        if not engine.may_hold_findings(text.encode("utf-8", "surrogatepass"), wanted):
            return
        try:
            settings = _settings(_config_for(os.path.dirname(os.path.abspath(self.filename))))
            rules = tuple(r for r in settings.rules_for(self.filename) if r.code in codes)
            tree = self.tree if isinstance(self.tree, ast.Module) and not stripped else None
            violations = engine.analyze(text, self.filename, rules, settings, tree=tree)
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
        from mlflow_lint import notebook
        from mlflow_lint.config import ConfigError

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
    from mlflow_lint import engine

    if violation.fix is None:
        return ""
    return FIX_HINT if engine.applicable(violation, settings.unsafe_fixes) else UNSAFE_FIX_HINT


_ALL_CODES = frozenset([ERROR_CODE, *(rule.code for rule in ALL_RULES)])


class _Selection:
    """The MLF codes (rules and MLF000) flake8's style guide reports for a file: its
    select/ignore options, the default ignore list, and per-file-ignores."""

    def __init__(self, manager: Any, selected: Any) -> None:
        self.manager = manager  # flake8.style_guide.StyleGuideManager
        self.selected = selected  # flake8.style_guide.Decision.Selected
        self.by_guide: dict[int, frozenset[str]] = {}

    @classmethod
    def of(cls, options: argparse.Namespace) -> Optional[_Selection]:
        """None when this flake8 does not have the style guide we know: then every rule runs
        and flake8 filters what they find (slower, same output)."""
        try:
            from flake8.style_guide import Decision, StyleGuideManager  # type: ignore[import-untyped]

            selection = cls(StyleGuideManager(options, formatter=None), Decision.Selected)
            selection.codes_for(os.path.join(os.curdir, "x.py"))  # fails now if it would
            return selection
        except Exception:
            return None

    def codes_for(self, filename: str) -> frozenset[str]:
        guide = self.manager.style_guide_for(filename)
        codes = self.by_guide.get(id(guide))
        if codes is None:
            decide = guide.decider.decision_for
            codes = frozenset(c for c in _ALL_CODES if decide(c) is self.selected)
            self.by_guide[id(guide)] = codes
        return codes


@lru_cache(maxsize=256)
def _config_for(directory: str) -> Optional[Path]:
    from mlflow_lint.config import find_config

    return find_config(directory)


@lru_cache(maxsize=16)
def _settings(config: Optional[Path]) -> Settings:
    """Every rule, noqa left to flake8, options from the config; per-file-ignores are flake8's."""
    from dataclasses import replace

    from mlflow_lint.config import build_settings

    settings = build_settings(config, select=["ALL"], respect_noqa=False)
    return replace(settings, per_file_ignores=())
