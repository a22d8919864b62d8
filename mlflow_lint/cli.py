"""The `mlflow-lint` command: check, fix, rules, rule."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import click

from mlflow_lint import __version__, cache, dispatch, docs, estimate, formats
from mlflow_lint.config import ConfigError, Settings, build_settings, find_config
from mlflow_lint.engine import FileResult
from mlflow_lint.report import Reporter
from mlflow_lint.rules import ALL_RULES, lookup
from mlflow_lint.runner import default_jobs, run_paths, with_write

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])


def _codes(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> Optional[list[str]]:
    """`--select MLF101,MLF102 --select MLF2` -> ["MLF101", "MLF102", "MLF2"]."""
    if not value:
        return None
    return [code.strip().upper() for item in value for code in item.split(",") if code.strip()]


def common_options(command: F) -> F:
    options = [
        click.argument("paths", nargs=-1, type=click.Path()),
        click.option(
            "--select",
            multiple=True,
            callback=_codes,
            help="Rule codes or prefixes to enable (replaces the configured selection).",
        ),
        click.option(
            "--extend-select",
            multiple=True,
            callback=_codes,
            help="Rule codes or prefixes to enable in addition.",
        ),
        click.option(
            "--ignore", multiple=True, callback=_codes, help="Rule codes or prefixes to disable."
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(exists=True, dir_okay=False),
            help="pyproject.toml to use instead of the nearest one.",
        ),
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(min=1),
            default=None,
            help="Parallel processes (default: all cores; 1 under pre-commit).",
        ),
        click.option(
            "--stdin-filename",
            default=None,
            help="Path to report (and configure) when reading `-` from standard input.",
        ),
        click.option(
            "--unsafe-fixes/--no-unsafe-fixes",
            default=None,
            help="Also apply (or mark) fixes that could change behaviour.",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary."),
        click.option(
            "--verbose",
            "-v",
            is_flag=True,
            help="Also say which parts of files were left unchecked, and why (standard error).",
        ),
        click.option(
            "--force-exclude",
            is_flag=True,
            help="Apply `exclude` to files named on the command line (pre-commit names them all).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(paths: Sequence[str], config_path: Optional[str], **kwargs: Any) -> Settings:
    config: Optional[Path]
    if config_path:
        config = Path(config_path)
    else:
        real = [p for p in paths if p != "-"]
        start = os.path.commonpath([os.path.abspath(p) for p in real]) if real else os.getcwd()
        config = find_config(start)
    return build_settings(config, **kwargs)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlflow-lint")
def main() -> None:
    """Find MLflow logging habits that overload the tracking server, and rewrite them."""


@main.command()
@common_options
@formats.output_options
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings are reported.")
@click.option("--statistics", is_flag=True, help="Show the number of findings per rule.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Analyse every file again; do not read or write .mlflow-lint-cache.",
)
def check(
    paths: tuple[str, ...],
    select: Optional[list[str]],
    extend_select: Optional[list[str]],
    ignore: Optional[list[str]],
    config_path: Optional[str],
    jobs: Optional[int],
    stdin_filename: Optional[str],
    unsafe_fixes: Optional[bool],
    quiet: bool,
    verbose: bool,
    force_exclude: bool,
    output_format: str,
    output_file: Optional[str],
    exit_zero: bool,
    statistics: bool,
    no_cache: bool,
) -> None:
    """Report findings in PATHS (default: the current directory; `-` reads standard input)."""
    paths = paths or (".",)
    settings = _load(paths, config_path, select, extend_select, ignore, unsafe_fixes, force_exclude)
    reporter = formats.make_reporter(
        output_format,
        output_file,
        unsafe_fixes=settings.unsafe_fixes,
        codes=settings.codes,
        quiet=quiet,
    )
    if paths == ("-",):
        data = sys.stdin.buffer.read()
        result = dispatch.check_source(data, stdin_filename or "-", settings)
        _warn(result, verbose)
        reporter.file(result)
    else:
        worker = dispatch.check_file if no_cache else cache.check_file
        index = None if no_cache else cache.StatIndex(settings.root, settings)
        for result in run_paths(paths, worker, settings, jobs or default_jobs(), index):
            _warn(result, verbose)
            reporter.file(result)
    if statistics:
        found = [e for path in reporter.loop_files for e in estimate.estimate_file(path, settings)]
        reporter.loop_estimates = estimate.report_lines(found)
        reporter.statistics()
    reporter.summary()
    sys.exit(_exit_code(reporter, exit_zero))


@main.command()
@common_options
@formats.output_options
@click.option("--diff", is_flag=True, help="Print the changes as a unified diff; write nothing.")
def fix(
    paths: tuple[str, ...],
    select: Optional[list[str]],
    extend_select: Optional[list[str]],
    ignore: Optional[list[str]],
    config_path: Optional[str],
    jobs: Optional[int],
    stdin_filename: Optional[str],
    unsafe_fixes: Optional[bool],
    quiet: bool,
    verbose: bool,
    force_exclude: bool,
    output_format: str,
    output_file: Optional[str],
    diff: bool,
) -> None:
    """Apply safe fixes in PATHS (with --unsafe-fixes, unsafe ones too); report the rest.

    With `-`, reads standard input and writes the fixed code to standard output."""
    paths = paths or (".",)
    settings = _load(paths, config_path, select, extend_select, ignore, unsafe_fixes, force_exclude)
    report = (output_format, output_file)
    if paths == ("-",):
        _fix_stdin(settings, stdin_filename or "-", diff, report, verbose)
    out = sys.stdout
    reporter = formats.make_reporter(
        *report,
        unsafe_fixes=settings.unsafe_fixes,
        codes=settings.codes,
        quiet=quiet,
        stream_busy=diff,
    )
    worker = with_write(dispatch.fix_file, write=not diff)
    for result in run_paths(paths, worker, settings, jobs or default_jobs()):
        if diff and result.diff:
            out.write(result.diff)
        _warn(result, verbose)
        reporter.file(result)
    reporter.dry_run = diff
    reporter.summary(fixing=True)
    if reporter.errors:
        sys.exit(EXIT_ERROR)
    # --diff: non-zero when something would change, as `ruff --diff` and `black --diff` do
    sys.exit(
        EXIT_FINDINGS if reporter.findings or (diff and reporter.files_changed) else EXIT_CLEAN
    )


def _fix_stdin(
    settings: Settings,
    path: str,
    diff: bool,
    report: tuple[str, Optional[str]],
    verbose: bool = False,
) -> None:
    data = sys.stdin.buffer.read()
    result, new_data = dispatch.fix_source(data, path, settings)
    _warn(result, verbose)
    reporter = formats.make_reporter(
        *report, unsafe_fixes=settings.unsafe_fixes, codes=settings.codes, stream=sys.stderr
    )
    reporter.file(result)
    reporter.close()  # the report (to standard error) has no summary line here
    if diff:
        sys.stdout.write(result.diff)
    else:
        sys.stdout.buffer.write(new_data if new_data is not None else data)
    sys.exit(EXIT_ERROR if result.error else EXIT_FINDINGS if result.violations else EXIT_CLEAN)


def _warn(result: FileResult, verbose: bool) -> None:
    """On standard error, as Ruff's warnings: a file that was skipped, and with --verbose the
    parts of a file left unchecked (a notebook's cells in other languages)."""
    if result.skipped:
        click.echo(f"warning: {result.path}: skipped: {result.skipped}", err=True)
    if verbose:
        for note in result.notes:
            click.echo(f"{result.path}:{note}", err=True)


@main.command(name="rules")
def list_rules() -> None:
    """List every rule: code, name, fix, default, summary."""
    for rule in ALL_RULES:
        fix = rule.fix_safety.value if rule.fix_safety else "-"
        default = "on" if rule.default_enabled else "opt-in"
        click.echo(f"{rule.code}  {rule.name:<32} fix: {fix:<7} {default:<7} {rule.summary}")


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Explain one rule (by code or name): what it does, why, examples, fix safety."""
    found = lookup(code)
    if found is None:
        raise click.UsageError(f"unknown rule {code!r}; `mlflow-lint rules` lists them")
    click.echo(docs.render_rule(found))


@main.command()
@click.option("--stdio", is_flag=True, help="Use standard input/output (the default and only way).")
def server(stdio: bool) -> None:
    """Run the language server for editors (LSP over stdio; needs `mlflow-lint[lsp]`)."""
    try:
        from mlflow_lint.server import serve
    except ImportError as error:
        if (error.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise
        click.echo(
            f"mlflow-lint server needs pygls ({error}): pip install 'mlflow-lint[lsp]'", err=True
        )
        sys.exit(EXIT_ERROR)
    serve()


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "-m",
    "module",
    metavar="MODULE",
    default=None,
    help="Run a module as `python -m` does (`-m pytest tests/` profiles a test run).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Report format: a table for the terminal, or JSON.",
)
@click.option(
    "--output-file",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--top", type=click.IntRange(min=1), default=10, show_default=True, help="Lines to show."
)
@click.option(
    "--blind-spot-min",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Requests from one line with no finding that make it a blind spot.",
)
@click.option("--select", multiple=True, callback=_codes, help="Rule codes for the findings.")
@click.option("--extend-select", multiple=True, callback=_codes, help="More rule codes.")
@click.option("--ignore", multiple=True, callback=_codes, help="Rule codes to leave out.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="pyproject.toml to use instead of the nearest one.",
)
@click.argument("program", nargs=-1, type=click.UNPROCESSED)
def profile(
    module: Optional[str],
    output_format: str,
    output_file: Optional[str],
    top: int,
    blind_spot_min: int,
    select: Optional[list[str]],
    extend_select: Optional[list[str]],
    ignore: Optional[list[str]],
    config_path: Optional[str],
    program: tuple[str, ...],
) -> None:
    """Run PROGRAM [ARGS]... and measure the tracking requests it makes, per source line.

    Unlike `check` and `fix`, this runs the program: in this interpreter, with its own
    arguments, exit code and exceptions. Options go before PROGRAM; everything after it is
    the program's. The report shows the lines that made the most requests, with the findings
    there and what their fixes would save; see docs/profile.md."""
    from mlflow_lint.profile.command import Options
    from mlflow_lint.profile.command import profile as run_profile
    from mlflow_lint.profile.probes import ProfileError
    from mlflow_lint.profile.program import Program

    if module is None and not program:
        raise click.UsageError("name the program to run: `profile train.py` or `profile -m pkg`")
    target = Program(module, list(program), module=True) if module else None
    target = target or Program(program[0], list(program[1:]))
    start = os.path.dirname(os.path.abspath(target.target)) if not module else "."
    settings = _load((start,), config_path, select, extend_select, ignore, None)
    options = Options(target, settings, output_format, output_file, top, blind_spot_min)
    try:
        code = run_profile(options)
    except ProfileError as error:
        click.echo(f"mlflow-lint profile: {error}", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code)


def _load(
    paths: Sequence[str],
    config_path: Optional[str],
    select: Optional[list[str]],
    extend_select: Optional[list[str]],
    ignore: Optional[list[str]],
    unsafe_fixes: Optional[bool],
    force_exclude: bool = False,
) -> Settings:
    try:
        return _settings(
            paths,
            config_path,
            select=select,
            extend_select=extend_select or (),
            ignore=ignore,
            unsafe_fixes=unsafe_fixes,
            force_exclude=force_exclude,
        )
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


def _exit_code(reporter: Reporter, exit_zero: bool) -> int:
    if reporter.errors:
        return EXIT_ERROR
    if reporter.findings and not exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN
