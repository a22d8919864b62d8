"""A rule's explanation, for `mlflow-lint rule CODE` and the pages in docs/rules/."""

from __future__ import annotations

import inspect
from importlib import resources
from typing import Optional

from mlflow_lint.rule import Rule, Safety

EXAMPLES_PACKAGE = "mlflow_lint.examples"


def example(code: str, name: str) -> Optional[str]:
    """One file of a rule's examples (rules/<CODE>/<name>), as shipped in the package."""
    try:
        path = resources.files(EXAMPLES_PACKAGE).joinpath(code).joinpath(name)
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def fix_safety_text(rule: type[Rule]) -> str:
    if rule.fix_safety is None:
        return "No automatic fix: the finding is reported only."
    if rule.fix_safety is Safety.SAFE:
        return "Safe fix: applied by `mlflow-lint fix`."
    return "Unsafe fix: applied only with `mlflow-lint fix --unsafe-fixes`."


def render_rule(rule: type[Rule]) -> str:
    parts = [f"# {rule.code}: {rule.name}", "", rule.summary, ""]
    parts.append(inspect.cleandoc(rule.__doc__ or ""))
    flagged, fixed = example(rule.code, "flagged.py"), example(rule.code, "flagged.fixed.py")
    if flagged:
        parts += ["", "## Example", "", "```python", flagged.rstrip(), "```"]
    if fixed:
        parts += ["", "## Use instead", "", "```python", fixed.rstrip(), "```"]
    parts += ["", "## Fix", "", fix_safety_text(rule)]
    if rule.options:
        parts += ["", "## Options", ""]
        for name, option in rule.options.items():
            parts.append(
                f"- `{name}` ({option.type.__name__}, default `{option.default!r}`): {option.help}"
            )
    parts.append("")
    parts.append(
        f"Off by default; enable with `--select {rule.code}`." if not rule.default_enabled else ""
    )
    return "\n".join(parts).rstrip() + "\n"
