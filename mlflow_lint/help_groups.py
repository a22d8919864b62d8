"""Option groups in `--help`, as Ruff's help shows them, on plain click.

`option_group("Rule selection", click.option(...), ...)` decorates a command like the options
it holds and files them under that heading; `argument(..., help=...)` gives a positional
argument a help line. Commands of `Group` print "Positional arguments", then each group in
the order written, then "Other options" (`--help`), every section aligned to one column.
This used to be cloup's job: its import asks `importlib.metadata` for click's version,
which cost a warm run (everything answered from the cache) a tenth of its time.
"""

from __future__ import annotations

import shutil
from typing import Any, Callable, Optional, TypeVar

import click
from click.formatting import wrap_text

F = TypeVar("F", bound=Callable[..., Any])
_GROUP_ATTRIBUTE = "_mlflow_lint_help_group"
POSITIONAL, OTHER = "Positional arguments", "Other options"
FIRST_COLUMN_MAX, COLUMN_SPACING, SECOND_COLUMN_MIN = 30, 2, 35


def option_group(title: str, *options: Callable[[F], F]) -> Callable[[F], F]:
    """Apply `options` (click.option decorators) to a command, filed under `title`."""

    def decorate(command: F) -> F:
        # click stacks parameters bottom-up: apply the last option first, as written
        for option in reversed(options):
            command = option(command)
            param = command.__click_params__[-1]  # type: ignore[attr-defined]
            setattr(param, _GROUP_ATTRIBUTE, title)
        return command

    return decorate


class _HelpArgument(click.Argument):
    """A positional argument with a help line (click's own have none)."""

    def __init__(self, *args: Any, help: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = help

    def make_metavar(self, ctx: Optional[click.Context] = None) -> str:
        # click 8.2 passes the context, older versions do not
        if self.metavar is not None:
            return self.metavar
        return super().make_metavar(ctx) if ctx is not None else super().make_metavar()  # type: ignore[call-arg]


def argument(*names: str, help: Optional[str] = None, **kwargs: Any) -> Callable[[F], F]:
    return click.argument(*names, cls=_HelpArgument, help=help, **kwargs)


def term_len(text: str) -> int:
    """The width a help term takes on the terminal (without its colour codes)."""
    return len(click.unstyle(text))


class HelpFormatter(click.HelpFormatter):
    """One column narrower than the terminal (its last is the newline's), up to the
    context's `max_content_width`; click takes two off and stops at 78."""

    def __init__(
        self,
        indent_increment: int = 2,
        width: Optional[int] = None,
        max_width: Optional[int] = None,
    ) -> None:
        if width is None:
            columns = shutil.get_terminal_size((80, 100)).columns
            width = min(max_width or 80, columns - 1)
        super().__init__(indent_increment, width, max_width)


class Context(click.Context):
    formatter_class = HelpFormatter


class Command(click.Command):
    context_class = Context

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click 8.5 lists documented arguments on its own; here they are the first section
        of `format_options`, aligned with the options."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {POSITIONAL: []}
        for param in self.get_params(ctx):
            if isinstance(param, click.Argument):
                if isinstance(param, _HelpArgument) and param.help:
                    sections[POSITIONAL].append((param.make_metavar(ctx), param.help))
                continue
            record = param.get_help_record(ctx)
            if record is not None:
                sections.setdefault(getattr(param, _GROUP_ATTRIBUTE, OTHER), []).append(record)
        others = sections.pop(OTHER, [])
        grouped = any(title != POSITIONAL and rows for title, rows in sections.items())
        sections[OTHER if grouped else "Options"] = others  # last
        rows = [row for section in sections.values() for row in section]
        first = max((term_len(a) for a, _ in rows if term_len(a) <= FIRST_COLUMN_MAX), default=0)
        for title, section in sections.items():
            if section:
                with formatter.section(title):
                    _write_rows(formatter, section, first)


class Group(click.Group):
    context_class = Context
    command_class = Command


def _write_rows(formatter: click.HelpFormatter, rows: list[tuple[str, str]], width: int) -> None:
    """click's `write_dl` with the first column's width given, so that sections align; where
    the help column would be narrower than SECOND_COLUMN_MIN, each help goes under its
    option instead."""
    indent = formatter.current_indent
    available = formatter.width - indent
    second_at = width + COLUMN_SPACING
    second_width = available - second_at
    if second_width < SECOND_COLUMN_MIN:
        for number, (first, second) in enumerate(rows):
            formatter.write(("\n" if number else "") + " " * indent + first + "\n")
            for line in wrap_text(second, available - 3, preserve_paragraphs=True).splitlines():
                formatter.write(" " * (indent + 3) + line + "\n")
        return
    for first, second in rows:
        formatter.write(" " * indent + first)
        if not second:
            formatter.write("\n")
            continue
        if term_len(first) <= width:
            formatter.write(" " * (second_at - term_len(first)))
        else:
            formatter.write("\n" + " " * (second_at + indent))
        lines = wrap_text(second, second_width, preserve_paragraphs=True).splitlines() or [""]
        formatter.write(lines[0] + "\n")
        for line in lines[1:]:
            formatter.write(" " * (second_at + indent) + line + "\n")
