"""The `mlflow-lint` command: check, fix, rules, rule."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import click

from mlflow_lint import __version__, cache, engine, formats
from mlflow_lint.config import ConfigError, Settings, build_settings, find_config
from mlflow_lint.report import Reporter
from mlflow_lint.runner import default_jobs, run_paths, with_write

# docs, estimate and the rules themselves (with libcst) are imported where they are used: a run
# whose files are all known from the cache never needs them (see catalogue.py)

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
        reporter.file(engine.check_source(data, stdin_filename or "-", settings))
    else:
        worker = engine.check_file if no_cache else cache.check_file
        index = None if no_cache else cache.StatIndex(settings.root, settings)
        for result in run_paths(paths, worker, settings, jobs or default_jobs(), index):
            reporter.file(result)
    if statistics:
        from mlflow_lint import estimate

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
        _fix_stdin(settings, stdin_filename or "-", diff, report)
    out = sys.stdout
    reporter = formats.make_reporter(
        *report,
        unsafe_fixes=settings.unsafe_fixes,
        codes=settings.codes,
        quiet=quiet,
        stream_busy=diff,
    )
    worker = with_write(engine.fix_file, write=not diff)
    for result in run_paths(paths, worker, settings, jobs or default_jobs()):
        if diff and result.diff:
            out.write(result.diff)
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
    settings: Settings, path: str, diff: bool, report: tuple[str, Optional[str]]
) -> None:
    data = sys.stdin.buffer.read()
    result, new_data = engine.fix_source(data, path, settings)
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


@main.command(name="rules")
def list_rules() -> None:
    """List every rule: code, name, fix, default, summary."""
    from mlflow_lint.rules import ALL_RULES

    for rule in ALL_RULES:
        fix = rule.fix_safety.value if rule.fix_safety else "-"
        default = "on" if rule.default_enabled else "opt-in"
        click.echo(f"{rule.code}  {rule.name:<32} fix: {fix:<7} {default:<7} {rule.summary}")


@main.command()
@click.argument("code")
def rule(code: str) -> None:
    """Explain one rule (by code or name): what it does, why, examples, fix safety."""
    from mlflow_lint import docs
    from mlflow_lint.rules import lookup

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
