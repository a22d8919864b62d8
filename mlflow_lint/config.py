"""Configuration: `[tool.mlflow-lint]` in the nearest pyproject.toml, overridden by the command
line, resolved into the Settings every file is checked with."""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from mlflow_lint.catalogue import ALL_RULES, RULES_BY_CODE, RuleInfo, lookup
from mlflow_lint.rule import Rule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

SECTION = "mlflow-lint"
KEYS = frozenset(
    {
        "select",
        "extend-select",
        "ignore",
        "per-file-ignores",
        "exclude",
        "extend-exclude",
        "force-exclude",
        "unsafe-fixes",
        "output-format",
    }
)
# `output-format` values (the command line also takes `text`, an alias of `concise`)
OUTPUT_FORMATS = ("full", "concise", "json", "github", "sarif")
# Directories never searched when discovering files (explicitly named files are always checked).
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    ".eggs",
    "*.egg-info",
    "__pycache__",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".mlflow-lint-cache",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "mlruns",
)


class ConfigError(Exception):
    """Invalid configuration or options: reported as a usage error (exit code 2)."""


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs to check a file; picklable."""

    codes: tuple[str, ...]  # enabled rule codes
    root: str = "."
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    unsafe_fixes: bool = False
    respect_noqa: bool = True
    force_exclude: bool = False  # apply `exclude` to explicitly named files too (pre-commit)
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    config_path: Optional[str] = None  # the pyproject.toml used, if any (for --verbose)
    output_format: Optional[str] = None  # `output-format` of the configuration

    def rules_for(self, path: str) -> tuple[type[Rule], ...]:
        ignored = self._ignored_for(path)
        return _rules(tuple(c for c in self.codes if not c.startswith(ignored)))

    def rule_infos_for(self, path: str) -> tuple[RuleInfo, ...]:
        """rules_for as the catalogue has them: enough for the prefilter, without libcst."""
        ignored = self._ignored_for(path)
        return _rule_infos(tuple(c for c in self.codes if not c.startswith(ignored)))

    def _ignored_for(self, path: str) -> tuple[str, ...]:
        if not self.per_file_ignores:
            return ()
        relative = relative_path(path, self.root)
        name = os.path.basename(path)
        codes: list[str] = []
        for pattern, pattern_codes in self.per_file_ignores:
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(name, pattern):
                codes.extend(pattern_codes)
        return tuple(codes)

    def options_for(self, rule: type[Rule]) -> dict[str, Any]:
        values = {name: option.default for name, option in rule.options.items()}
        values.update(self.rule_options.get(rule.code, {}))
        return values

    def excludes_named_file(self, path: str) -> bool:
        """With force_exclude: whether a file named on the command line is excluded, by its
        own name or a directory on its way from the project root."""
        if not self.force_exclude:
            return False
        parts = Path(relative_path(path, self.root)).parts
        return any(
            self.is_excluded(os.path.join(self.root, *parts[: i + 1])) for i in range(len(parts))
        )

    def is_excluded(self, path: str) -> bool:
        """Whether `path`'s name, or its path relative to the project root, matches an
        `exclude` pattern (fnmatch patterns, as `fnmatch.fnmatch` compares them)."""
        name = os.path.basename(os.path.normpath(path))
        return self.excludes_entry(name, relative_path(path, self.root))

    def excludes_entry(self, name: str, relative: str) -> bool:
        """is_excluded for a directory entry whose name and path relative to the project root
        are known (discovery builds them as it descends: no absolute path per file)."""
        matches = _matcher(self.exclude)
        normcase = os.path.normcase
        return bool(matches(normcase(name)) or matches(normcase(relative)))


@lru_cache(maxsize=64)
def _rule_infos(codes: tuple[str, ...]) -> tuple[RuleInfo, ...]:
    return tuple(RULES_BY_CODE[c] for c in codes)


@lru_cache(maxsize=64)
def _rules(codes: tuple[str, ...]) -> tuple[type[Rule], ...]:
    from mlflow_lint import rules  # the classes (and libcst) only once a file is analysed

    return tuple(rules.RULES_BY_CODE[c] for c in codes)


@lru_cache(maxsize=16)
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], Optional[re.Match[str]]]:
    """One regex for all the patterns (discovery asks for every file and directory)."""
    joined = "|".join(f"(?:{fnmatch.translate(os.path.normcase(p))})" for p in patterns)
    return re.compile(joined or "(?!)").match


@lru_cache(maxsize=16)
def _absolute(root: str) -> str:
    return os.path.abspath(root)


def relative_path(path: str, root: str) -> str:
    """`path` relative to `root`, with forward slashes; as given when it is outside `root`."""
    absolute, base = os.path.abspath(path), _absolute(root)
    if absolute == base:
        return "."
    prefix = base if base.endswith(os.sep) else base + os.sep
    if absolute.startswith(prefix):
        return absolute[len(prefix) :].replace(os.sep, "/")
    return Path(path).as_posix()


def select_rules(
    select: Optional[Sequence[str]],
    ignore: Sequence[str],
    base: Optional[Sequence[str]] = None,
    where: str = "",
) -> tuple[str, ...]:
    """Codes enabled by one layer of select/ignore prefixes (the config file, then the command
    line) on top of `base`, the previous layer's codes. A `select` replaces the selection; the
    longest matching prefix between select and ignore wins, and a tie goes to ignore (flake8).
    With no `select` at all, the default rules are on: opt-in rules need an explicit select."""
    _check_codes([*(select or ()), *ignore], where)
    enabled = []
    for rule in ALL_RULES:
        code = rule.code
        if select is not None:
            chosen = max((len(s) for s in select if _matches(code, s)), default=-1)
        elif base is not None:
            chosen = len("MLF") if code in base else -1
        else:
            chosen = len("MLF") if rule.default_enabled else -1
        ignored = max((len(i) for i in ignore if _matches(code, i)), default=-1)
        if chosen >= 0 and chosen > ignored:
            enabled.append(code)
    return tuple(enabled)


def _matches(code: str, prefix: str) -> bool:
    return prefix == "ALL" or code.startswith(prefix)


def _check_codes(codes: Iterable[str], where: str = "") -> None:
    """`where`: the configuration file and key the codes come from (empty: the command line)."""
    for code in codes:
        if code == "ALL":
            continue
        if not code.startswith("MLF") or not any(c.startswith(code) for c in RULES_BY_CODE):
            known = ", ".join(sorted(RULES_BY_CODE))
            prefix = f"{where}: " if where else ""
            raise ConfigError(
                f"{prefix}unknown rule code or prefix {code!r} (known rules: {known})"
            )


def find_config(start: str) -> Optional[Path]:
    """The nearest pyproject.toml, from `start` upwards, that has a [tool.mlflow-lint] table."""
    directory = Path(os.path.abspath(start))
    if not _is(directory, stat.S_ISDIR):
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        pyproject = candidate / "pyproject.toml"
        if _is(pyproject, stat.S_ISREG) and SECTION in _load_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def _is(path: Path, kind: Callable[[int], bool]) -> bool:
    """Whether `path` is a directory or file (`kind`); False where it cannot be seen (a
    directory on the way that we may not search): the files there get their own error."""
    try:
        return kind(os.stat(path).st_mode)
    except OSError:
        return False


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read configuration: {error}") from None


def load_table(path: Path) -> dict[str, Any]:
    table = _load_toml(path).get("tool", {}).get(SECTION, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{SECTION}] must be a table")
    return table


def build_settings(
    config_path: Optional[Path],
    *,
    select: Optional[Sequence[str]] = None,
    ignore: Optional[Sequence[str]] = None,
    extend_select: Sequence[str] = (),
    unsafe_fixes: Optional[bool] = None,
    respect_noqa: bool = True,
    force_exclude: Optional[bool] = None,
    exclude: Optional[Sequence[str]] = None,
    extend_exclude: Sequence[str] = (),
) -> Settings:
    """Merge the config file (if any) with command-line values (which win): `select` replaces
    the configured selection, `extend_select` adds to it, `ignore` removes from it; `exclude`
    replaces the configured exclude list, `extend_exclude` adds to it."""
    table = load_table(config_path) if config_path else {}
    where = str(config_path) if config_path else "configuration"
    rule_options = _rule_options(table, where)
    unknown = sorted(set(table) - KEYS - set(rule_options) - _option_table_names(table))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) in [tool.{SECTION}]: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(KEYS))}, or a rule code/name table for rule options)"
        )
    file_select = _string_list(table, "select", where)
    file_extend = _string_list(table, "extend-select", where) or []
    if file_extend:
        _check_codes(file_extend, f"{where}: extend-select")
        file_select = [
            *(file_select if file_select is not None else _default_codes()),
            *file_extend,
        ]
    codes = select_rules(
        file_select, _string_list(table, "ignore", where) or [], where=f"{where}: select/ignore"
    )
    if select is not None or ignore or extend_select:  # the command line, layered on top
        cli_select = list(select) if select is not None else None
        if extend_select:
            cli_select = [*(cli_select if cli_select is not None else codes), *extend_select]
        codes = select_rules(cli_select, ignore or [], base=codes)
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{where}: per-file-ignores must be a table of pattern = [codes]")
    per_file_ignores = []
    for pattern, pattern_codes in per_file.items():
        if not isinstance(pattern_codes, list) or not all(
            isinstance(c, str) for c in pattern_codes
        ):
            raise ConfigError(f"{where}: per-file-ignores.{pattern!r} must be a list of codes")
        _check_codes(pattern_codes, f"{where}: per-file-ignores.{pattern!r}")
        per_file_ignores.append((pattern, tuple(pattern_codes)))
    file_exclude = _string_list(table, "exclude", where)
    if exclude is not None:
        file_exclude = list(exclude)
    file_extend_exclude = [*(_string_list(table, "extend-exclude", where) or []), *extend_exclude]
    file_unsafe = _bool(table, "unsafe-fixes", where)
    file_force_exclude = _bool(table, "force-exclude", where)
    output_format = table.get("output-format")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise ConfigError(
            f"{where}: output-format must be one of {', '.join(OUTPUT_FORMATS)}, "
            f"not {output_format!r}"
        )
    return Settings(
        codes=codes,
        root=str(config_path.parent) if config_path else os.getcwd(),
        per_file_ignores=tuple(per_file_ignores),
        exclude=(
            *(DEFAULT_EXCLUDE if file_exclude is None else file_exclude),
            *file_extend_exclude,
        ),
        unsafe_fixes=file_unsafe if unsafe_fixes is None else unsafe_fixes,
        respect_noqa=respect_noqa,
        force_exclude=file_force_exclude if force_exclude is None else force_exclude,
        rule_options=rule_options,
        config_path=str(config_path) if config_path else None,
        output_format=output_format,
    )


def _default_codes() -> list[str]:
    return [rule.code for rule in ALL_RULES if rule.default_enabled]


def _bool(table: Mapping[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false")
    return value


def _string_list(table: Mapping[str, Any], key: str, where: str) -> Optional[list[str]]:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return value


def _option_table_names(table: Mapping[str, Any]) -> set[str]:
    return {key for key, value in table.items() if isinstance(value, dict) and lookup(key)}


def _rule_options(table: Mapping[str, Any], where: str) -> dict[str, dict[str, Any]]:
    """`[tool.mlflow-lint.MLF102]` or `[tool.mlflow-lint.consecutive-log-metric]` tables."""
    result: dict[str, dict[str, Any]] = {}
    for key, value in table.items():
        if key in KEYS or not isinstance(value, dict):
            continue
        rule = lookup(key)
        if rule is None:
            continue  # reported as an unknown key
        for name, option_value in value.items():
            option = rule.options.get(name)
            if option is None:
                known = ", ".join(sorted(rule.options)) or "none"
                raise ConfigError(
                    f"{where}: unknown option {name!r} for {rule.code} ({rule.name}); "
                    f"its options: {known}"
                )
            if not isinstance(option_value, option.type) or isinstance(option_value, bool) != (
                option.type is bool
            ):
                raise ConfigError(
                    f"{where}: {rule.code}.{name} must be of type {option.type.__name__}"
                )
            minimum = option.minimum
            if minimum is not None and isinstance(option_value, int) and option_value < minimum:
                raise ConfigError(
                    f"{where}: {rule.code}.{name} must be at least {minimum}, not {option_value}"
                )
            result.setdefault(rule.code, {})[name] = option_value
    return result
