"""The `mlflow-lint` command: check (and fix), rules, rule, server, profile.

`mlflow-lint check` takes Ruff's options: `--fix`, `--unsafe-fixes`, `--fix-only`, `--diff`,
`--show-fixes`, `--exit-non-zero-on-fix`, `--add-noqa`, `--watch`, `--statistics`,
`--output-format`, `--exclude` and the rest; `mlflow-lint fix` is the short form of
`mlflow-lint check --fix` and takes the same options. One run is `run_once`, top to bottom:
settings, the reporter, discovery, the files (in parallel, with a progress bar on a terminal),
the report and the exit code; `--watch` repeats it when files change.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, TextIO, TypeVar

import click

from mlflow_lint import __version__, cache, dispatch, formats
from mlflow_lint.add_noqa import add_noqa_file
from mlflow_lint.config import ConfigError, Settings, build_settings, find_config
from mlflow_lint.help_groups import Group, argument, option_group
from mlflow_lint.report import Reporter
from mlflow_lint.results import FileResult
from mlflow_lint.runner import default_jobs, discover, run_discovered, with_write
from mlflow_lint.sourcefile import SourceError, decode

# docs, estimate and the rules themselves (with libcst) are imported where they are used: a run
# whose files are all known from the cache never needs them (see catalogue.py)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])
# A run shows a progress bar once it has taken this long (on a terminal only).
PROGRESS_DELAY_SECONDS = 1.0
CONTEXT_SETTINGS = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": 100,
}


def _codes(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> Optional[list[str]]:
    """`--select MLF101,MLF102 --select MLF2` -> ["MLF101", "MLF102", "MLF2"]."""
    if not value:
        return None
    return [code.strip().upper() for item in value for code in item.split(",") if code.strip()]


def _patterns(
    ctx: click.Context, param: click.Parameter, value: Sequence[str]
) -> Optional[list[str]]:
    """`--exclude a,b --exclude c` -> ["a", "b", "c"]."""
    if not value:
        return None
    return [item.strip() for entry in value for item in entry.split(",") if item.strip()]


def check_options(command: F) -> F:
    """The options of `check` (and of `fix`, its short form with `--fix` on), grouped as
    Ruff's `check --help` groups them."""
    groups = [
        option_group(
            "Log levels",
            click.option(
                "-v",
                "--verbose",
                is_flag=True,
                help="Say which configuration was used, "
                "how many files the prefilter skipped and why, and how long it took "
                "(on standard error).",
            ),
            click.option("-q", "--quiet", is_flag=True, help="Print findings, but nothing else."),
            click.option(
                "-s",
                "--silent",
                is_flag=True,
                help="Print nothing; the exit code still says whether there are findings.",
            ),
            click.option(
                "--color",
                type=click.Choice(["auto", "always", "never"]),
                default="auto",
                show_default=True,
                help="Colour on a terminal (auto; NO_COLOR and FORCE_COLOR are respected), "
                "always, or never. Never in files or pipes.",
            ),
        ),
        option_group(
            "Miscellaneous",
            click.option(
                "-n",
                "--no-cache",
                is_flag=True,
                help="Analyse every file again; do not read or write .mlflow-lint-cache.",
            ),
            click.option(
                "--stdin-filename",
                default=None,
                help="The name of the file read from standard input (`-`), for the "
                "report and the configuration.",
            ),
            click.option(
                "-e",
                "--exit-zero",
                is_flag=True,
                help="Exit with status 0, even when findings are reported.",
            ),
            click.option(
                "--exit-non-zero-on-fix",
                is_flag=True,
                help="Exit with status 1 when any file was fixed, even if no findings remain.",
            ),
            click.option(
                "--config",
                "config_path",
                type=click.Path(exists=True, dir_okay=False),
                help="The pyproject.toml to use instead of the nearest one.",
            ),
            click.option(
                "-j",
                "--jobs",
                type=click.IntRange(min=1),
                default=None,
                help="Parallel processes (default: all cores; 1 under pre-commit).",
            ),
        ),
        option_group(
            "File selection",
            click.option(
                "--exclude",
                multiple=True,
                callback=_patterns,
                metavar="PATTERN",
                help="Files and directories to leave out (replaces the configured `exclude`).",
            ),
            click.option(
                "--extend-exclude",
                multiple=True,
                callback=_patterns,
                metavar="PATTERN",
                help="Like --exclude, but adds to the excluded files and directories.",
            ),
            click.option(
                "--force-exclude/--no-force-exclude",
                default=None,
                help="Apply the exclusions to paths named on the command line too "
                "(pre-commit names every file).",
            ),
        ),
        option_group(
            "Rule selection",
            click.option(
                "--select",
                multiple=True,
                callback=_codes,
                metavar="RULE_CODE",
                help="Rule codes or prefixes to enable, comma-separated (or ALL); "
                "replaces the configured selection.",
            ),
            click.option(
                "--ignore",
                multiple=True,
                callback=_codes,
                metavar="RULE_CODE",
                help="Rule codes or prefixes to disable.",
            ),
            click.option(
                "--extend-select",
                multiple=True,
                callback=_codes,
                metavar="RULE_CODE",
                help="Like --select, but adds to the selection.",
            ),
        ),
        option_group(
            "Options",
            click.option(
                "--fix/--no-fix",
                default=None,
                help="Apply the safe fixes (with --unsafe-fixes, the unsafe ones too) "
                "and report what remains.",
            ),
            click.option(
                "--unsafe-fixes/--no-unsafe-fixes",
                default=None,
                help="Include fixes that may change what gets logged (see `mlflow-lint "
                "rule CODE`).",
            ),
            click.option(
                "--show-fixes/--no-show-fixes",
                default=False,
                help="List the fixes applied (or, without --fix, the fixable "
                "findings), by file and rule.",
            ),
            click.option(
                "--diff",
                is_flag=True,
                help="Write nothing; print each fixed file's changes as a diff, and "
                "exit 1 if there are any. Implies --fix-only.",
            ),
            click.option(
                "-w",
                "--watch",
                is_flag=True,
                help="Check again whenever a file changes (needs the `watch` extra).",
            ),
            click.option(
                "--fix-only/--no-fix-only",
                default=False,
                help="Apply the fixes, but do not report or exit non-zero for the "
                "findings that remain. Implies --fix.",
            ),
            click.option(
                "--add-noqa",
                is_flag=True,
                help="Add `# noqa: CODE` to every line with a finding (keeping "
                "existing comments and codes).",
            ),
            click.option(
                "--output-format",
                "output_format",
                type=click.Choice([*formats.FORMATS, *formats.ALIASES]),
                default=None,
                help="full (the default on a terminal), concise (one line per "
                "finding, the default otherwise), json, github or sarif.",
            ),
            click.option(
                "--format",
                "legacy_format",
                hidden=True,
                type=click.Choice([*formats.FORMATS, *formats.ALIASES]),
                default=None,
                help="The old name of --output-format (`text` is `concise`).",
            ),
            click.option(
                "-o",
                "--output-file",
                type=click.Path(dir_okay=False),
                default=None,
                help="Write the report to this file (never in colour); standard "
                "output then shows only the summary.",
            ),
            click.option(
                "--statistics",
                is_flag=True,
                help="Count the findings per rule, and estimate the tracking requests "
                "per loop iteration.",
            ),
        ),
    ]
    for group in groups:
        command = group(command)
    return argument(
        "paths",
        nargs=-1,
        type=click.Path(readable=False),
        metavar="[PATHS]...",
        help="Files or directories to check, or `-` to read standard input [default: .]",
    )(command)


@dataclass
class RunOptions:
    paths: tuple[str, ...]
    select: Optional[list[str]] = None
    extend_select: Optional[list[str]] = None
    ignore: Optional[list[str]] = None
    config_path: Optional[str] = None
    jobs: Optional[int] = None
    stdin_filename: Optional[str] = None
    unsafe_fixes: Optional[bool] = None
    quiet: bool = False
    silent: bool = False
    verbose: bool = False
    color: str = "auto"
    force_exclude: Optional[bool] = None
    exclude: Optional[list[str]] = None
    extend_exclude: Optional[list[str]] = None
    output_format: Optional[str] = None
    legacy_format: Optional[str] = None
    output_file: Optional[str] = None
    exit_zero: bool = False
    exit_non_zero_on_fix: bool = False
    statistics: bool = False
    no_cache: bool = False
    fix: Optional[bool] = None
    fix_only: bool = False
    diff: bool = False
    show_fixes: bool = False
    add_noqa: bool = False
    watch: bool = False

    @property
    def mode(self) -> str:
        if self.add_noqa:
            return "add-noqa"
        if self.diff:
            return "diff"
        if self.fix_only:
            return "fix-only"
        return "fix" if self.fix else "check"


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="mlflow-lint")
def main() -> None:
    """mlflow-lint: find MLflow logging habits that overload the tracking server, and rewrite
    them into batches.

    \b
    For help with a command: `mlflow-lint COMMAND --help`. Exit status: 0 no findings, 1
    findings, 2 a usage or configuration error, or a file that could not be checked.
    """


@main.command(context_settings=CONTEXT_SETTINGS)
@check_options
def check(**values: Any) -> None:
    """Check the given files or directories (default: the current directory)."""
    sys.exit(_main(RunOptions(**values)))


@main.command(context_settings=CONTEXT_SETTINGS)
@check_options
def fix(**values: Any) -> None:
    """Apply the safe fixes, then report what remains: `check --fix`, shorter."""
    if values.get("fix") is None:
        values["fix"] = True
    sys.exit(_main(RunOptions(**values)))


def _main(options: RunOptions) -> int:
    try:
        _validate(options)
        if options.watch:
            return watch(options)
        return run_once(options)
    except ConfigError as error:
        click.echo(f"mlflow-lint: error: {error}", err=True)
        return EXIT_ERROR


def _validate(options: RunOptions) -> None:
    """Combinations that cannot work, rejected with the reason (exit status 2)."""
    if options.output_format and options.legacy_format:
        raise click.UsageError("--format is the old name of --output-format: give one of them")
    if options.fix_only or options.diff:
        options.fix = True if options.fix is None else options.fix
        if options.fix is False:
            raise click.UsageError("--no-fix contradicts --fix-only and --diff")
    if options.add_noqa:
        for flag, value in [
            ("--fix", options.fix),
            ("--fix-only", options.fix_only),
            ("--diff", options.diff),
            ("--watch", options.watch),
        ]:
            if value:
                raise click.UsageError(
                    f"--add-noqa edits the files itself: {flag} cannot go with it"
                )
    stdin = options.paths == ("-",)
    if "-" in options.paths and not stdin:
        raise click.UsageError("`-` (standard input) cannot be combined with other paths")
    if stdin and (options.add_noqa or options.watch):
        flag = "--add-noqa" if options.add_noqa else "--watch"
        raise click.UsageError(f"{flag} works on files: it cannot read standard input")
    if options.statistics and options.mode in ("diff", "fix-only", "add-noqa"):
        raise click.UsageError(
            f"--statistics counts the findings reported, and --{options.mode} reports none"
        )
    if options.quiet and options.verbose:
        raise click.UsageError("--quiet and --verbose contradict each other")


def load_settings(options: RunOptions, paths: Sequence[str]) -> Settings:
    config: Optional[Path]
    if options.config_path:
        config = Path(options.config_path)
    else:
        real = [p for p in paths if p != "-"]
        if options.stdin_filename and not real:
            real = [options.stdin_filename]
        start = os.path.commonpath([os.path.abspath(p) for p in real]) if real else os.getcwd()
        config = find_config(start)
    return build_settings(
        config,
        select=options.select,
        extend_select=options.extend_select or (),
        ignore=options.ignore,
        unsafe_fixes=options.unsafe_fixes,
        force_exclude=options.force_exclude,
        exclude=options.exclude,
        extend_exclude=options.extend_exclude or (),
    )


def in_pre_commit() -> bool:
    return os.environ.get("PRE_COMMIT") == "1"


def use_color(choice: str, stream: TextIO) -> bool:
    """--color: `always`, `never`, or `auto`: NO_COLOR off, FORCE_COLOR on; under pre-commit
    what pre-commit decided for its own output (PRE_COMMIT_COLOR); otherwise a terminal."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if in_pre_commit():
        return os.environ.get("PRE_COMMIT_COLOR") == "always"
    return _isatty(stream) and os.environ.get("TERM") != "dumb"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def show_progress(options: RunOptions) -> bool:
    """A progress bar on standard error: only for a person watching a terminal (never in a
    pipe, a file, CI or pre-commit)."""
    if options.quiet or options.silent or options.paths == ("-",):
        return False
    if in_pre_commit() or os.environ.get("CI"):
        return False
    return _isatty(sys.stderr) and os.environ.get("TERM") != "dumb"


def output_format(options: RunOptions, settings: Settings) -> str:
    chosen = options.output_format or options.legacy_format or settings.output_format
    if chosen:
        return formats.ALIASES.get(chosen, chosen)
    if _isatty(sys.stdout) and not in_pre_commit() and options.output_file is None:
        return "full"
    return "concise"


class _Quiet:
    """A stream that swallows everything (--silent)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def run_once(options: RunOptions) -> int:
    """One run: the exit status."""
    started = time.perf_counter()
    paths = options.paths or (".",)
    settings = load_settings(options, paths)
    stdin = paths == ("-",)
    mode = options.mode
    out: Any = _Quiet() if options.silent else sys.stdout
    stream_busy = (stdin and mode != "check") or mode == "diff"
    reporter = formats.make_reporter(
        output_format(options, settings),
        options.output_file,
        unsafe_fixes=settings.unsafe_fixes,
        codes=settings.codes,
        quiet=options.quiet or options.silent,
        # fixed code or a diff goes to standard output: the report goes to standard error
        stream=sys.stderr if stdin and mode != "check" and not options.silent else out,
        stream_busy=stream_busy and not stdin,
        mode=mode if mode != "add-noqa" else "fix-only",
        batch=in_pre_commit(),
        color=use_color(options.color, sys.stderr if stdin and mode != "check" else sys.stdout),
    )
    if options.silent:
        reporter.warnings = None
    if stdin:
        return _run_stdin(options, settings, reporter, out)
    discovery = time.perf_counter()
    files, errors = discover(paths, settings)
    discovered = time.perf_counter()
    worker, index = _worker(options, settings)
    results = run_discovered(files, errors, worker, settings, options.jobs or default_jobs(), index)
    written = 0
    with _progress(options, len(files), reporter) as advance:
        for result in results:
            advance(result)
            if mode == "diff" and result.diff:
                out.write(result.diff)
            _warn(result, options.verbose)
            reporter.file(result)
            written += result.changed
    if options.statistics:
        from mlflow_lint import estimate

        found = [e for p in reporter.loop_files for e in estimate.estimate_file(p, settings)]
        reporter.loop_estimates = estimate.report_lines(found)
        reporter.statistics()
    if options.show_fixes:
        reporter.show_fixes()
    if mode == "add-noqa":
        _add_noqa_summary(reporter, options)
    else:
        reporter.summary()
    if not options.silent and not options.quiet:
        reporter.warn_if_nothing_checked()
    if options.verbose:
        verbose_report(settings, reporter, files, started, discovery, discovered)
    return exit_code(reporter, options)


def _warn(result: FileResult, verbose: bool) -> None:
    """On standard error, as Ruff's warnings: a file that was skipped, and with --verbose the
    parts of a file left unchecked (a notebook's cells in other languages)."""
    if result.skipped:
        click.echo(f"warning: {result.path}: skipped: {result.skipped}", err=True)
    if verbose:
        for note in result.notes:
            click.echo(f"{result.path}:{note}", err=True)


def _worker(options: RunOptions, settings: Settings) -> tuple[Any, Optional[cache.StatIndex]]:
    mode = options.mode
    if mode == "add-noqa":
        return add_noqa_file, None
    if mode != "check":
        return with_write(dispatch.fix_file, write=mode != "diff"), None
    if options.no_cache:
        return dispatch.check_file, None
    return cache.check_file, cache.StatIndex(settings.root, settings)


def _run_stdin(options: RunOptions, settings: Settings, reporter: Reporter, out: Any) -> int:
    path = options.stdin_filename or "-"
    data = sys.stdin.buffer.read()
    mode = options.mode
    if mode == "check":
        result = dispatch.check_source(data, path, settings)
        _warn(result, options.verbose)
        reporter.file(result, text=_decoded(data))
        reporter.summary()
        return exit_code(reporter, options)
    result, new_data = dispatch.fix_source(data, path, settings)
    _warn(result, options.verbose)
    fixed = new_data if new_data is not None else data
    reporter.file(result, text=_decoded(fixed))
    reporter.close()  # the report (on standard error) has no summary line here
    if mode == "diff":
        out.write(result.diff)
    elif not options.silent:
        sys.stdout.flush()
        sys.stdout.buffer.write(fixed)
    return exit_code(reporter, options)


def _decoded(data: bytes) -> Optional[str]:
    try:
        return decode(data).text
    except SourceError:
        return None


def exit_code(reporter: Reporter, options: RunOptions) -> int:
    """Ruff's: 2 for errors; with --diff, 1 when something would change; with
    --exit-non-zero-on-fix, 1 when something was fixed; otherwise 1 for the findings reported
    (none with --fix-only), unless --exit-zero."""
    if reporter.errors:
        return EXIT_ERROR
    mode = options.mode
    if mode == "diff":
        return EXIT_FINDINGS if reporter.files_changed else EXIT_CLEAN
    if options.exit_non_zero_on_fix and reporter.fixed:
        return EXIT_FINDINGS
    if mode in ("fix-only", "add-noqa"):
        return EXIT_CLEAN
    if reporter.findings and not options.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _add_noqa_summary(reporter: Reporter, options: RunOptions) -> None:
    reporter.close()
    if options.quiet or options.silent:
        return
    count = reporter.fixed
    line = f"Added {count} noqa directive{'s' if count != 1 else ''}"
    line += f" in {reporter.files_changed} file{'s' if reporter.files_changed != 1 else ''}."
    unchecked = reporter.errors - reporter.not_written
    if unchecked:
        line += f" {unchecked} file{'s' if unchecked != 1 else ''} could not be checked."
    if reporter.not_written:
        line += f" {reporter.not_written} could not be written."
    click.echo(line)


class _progress:
    """A context manager yielding `advance(result)`: a tqdm bar on standard error when a
    person is watching (see show_progress), started only once the run has taken
    PROGRESS_DELAY_SECONDS (a quick run shows none). While it shows, the report's writes go
    around it (tqdm clears the bar and redraws it), so findings never mix with it."""

    def __init__(self, options: RunOptions, total: int, reporter: Reporter) -> None:
        self.enabled = show_progress(options) and total > 1
        self.total = total
        self.reporter = reporter
        self.bar: Any = None
        self.saved: tuple[Any, Any] = (None, None)
        self.done = 0
        self.started = time.monotonic()

    def __enter__(self) -> Callable[[FileResult], None]:
        self.started = time.monotonic()
        return self.advance

    def advance(self, result: FileResult) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif (
            self.enabled
            and self.done < self.total
            and time.monotonic() - self.started >= PROGRESS_DELAY_SECONDS
        ):
            self._start()

    def _start(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=self.total,
            initial=self.done,
            file=sys.stderr,
            unit="file",
            leave=False,
            dynamic_ncols=True,
            desc="mlflow-lint",
        )
        reporter = self.reporter
        self.saved = (reporter.out, reporter.console)
        reporter.out = _AroundBar(reporter.out)  # type: ignore[assignment]
        if reporter.console is not None:
            reporter.console = _AroundBar(reporter.console)  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
            self.reporter.out, self.reporter.console = self.saved


class _AroundBar:
    """Standard output while a progress bar is on standard error: each write clears the bar
    and redraws it after, so findings never mix with it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        from tqdm import tqdm

        with tqdm.external_write_mode(file=self.stream):
            return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def verbose_report(
    settings: Settings,
    reporter: Reporter,
    files: Sequence[str],
    started: float,
    discovery: float,
    discovered: float,
) -> None:
    """--verbose, on standard error: the configuration, the rules, what was skipped and why,
    and the time taken."""
    now = time.perf_counter()
    lines = [f"mlflow-lint {__version__}"]
    lines.append(
        f"configuration: {settings.config_path}"
        if settings.config_path
        else "configuration: none found (no pyproject.toml with [tool.mlflow-lint]); defaults"
    )
    lines.append(f"rules enabled ({len(settings.codes)}): {', '.join(settings.codes)}")
    skipped = reporter.files_seen - reporter.files_parsed - reporter.errors
    lines.append(
        f"files: {len(files)} found, {reporter.files_parsed} parsed, {max(skipped, 0)} "
        "skipped unparsed by the prefilter"
    )
    reasons = skip_reasons(settings, files) if skipped > 0 else {}
    for reason, count in reasons.items():
        lines.append(f"  {count} {reason}")
    lines.append(
        f"time: {now - started:.2f} s (configuration {discovery - started:.2f} s, discovery "
        f"{discovered - discovery:.2f} s, checking {now - discovered:.2f} s)"
    )
    click.echo("\n".join(lines), err=True)


def skip_reasons(settings: Settings, files: Sequence[str]) -> dict[str, int]:
    """Why the prefilter skipped files: no "mlflow" in the bytes, or no call name of an
    enabled rule (per-file-ignores can leave a file no rule at all)."""
    counts = {
        'without "mlflow" in them': 0,
        'with "mlflow" but no call an enabled rule looks for': 0,
        "with every rule ignored for them (per-file-ignores)": 0,
    }
    keys = list(counts)
    from mlflow_lint.engine import may_hold_findings

    for path in files:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        rules = settings.rule_infos_for(path)
        if path.endswith(".ipynb") or may_hold_findings(data, rules):
            continue
        if not rules:
            counts[keys[2]] += 1
        elif b"mlflow" not in data.lower():
            counts[keys[0]] += 1
        else:
            counts[keys[1]] += 1
    return {reason: count for reason, count in counts.items() if count}


def watch(options: RunOptions) -> int:
    """--watch: run, then run again whenever a Python file, notebook or pyproject.toml under
    the paths changes (watchfiles: the operating system's file events), until interrupted."""
    try:
        from watchfiles import watch as watch_changes
    except ImportError:
        click.echo(
            "mlflow-lint: error: --watch needs the watchfiles package: "
            "pip install 'mlflow-lint[watch]' (from a checkout: pip install '.[watch]')",
            err=True,
        )
        return EXIT_ERROR
    paths = options.paths or (".",)

    def relevant(change: Any, path: str) -> bool:
        name = os.path.basename(path)
        if ".mlflow-lint-cache" in Path(path).parts or name.startswith(".mlflow-lint-"):
            return False
        return name.endswith((".py", ".ipynb")) or name == "pyproject.toml"

    def once() -> None:
        if _isatty(sys.stdout):
            click.clear()
        try:
            run_once(options)
        except ConfigError as error:
            click.echo(f"mlflow-lint: error: {error}", err=True)
        sys.stdout.flush()  # a pipe buffers: a reader sees each round's results before the next
        stamp = time.strftime("%H:%M:%S")
        click.echo(f"[{stamp}] Watching for file changes.", err=True)

    import logging  # here: only the watch needs it

    # watchfiles logs a warning when it stops on Ctrl-C; stopping is what the user asked for.
    logging.getLogger("watchfiles").setLevel(logging.ERROR)
    click.echo("Starting mlflow-lint in watch mode...", err=True)
    try:  # Ctrl-C ends the watch cleanly whenever it comes, during a round or between two
        once()
        for _ in watch_changes(*paths, watch_filter=relevant, raise_interrupt=False):
            once()
    except KeyboardInterrupt:
        pass
    return EXIT_CLEAN


@main.command(name="rules", context_settings=CONTEXT_SETTINGS)
def list_rules() -> None:
    """List every rule: code, name, fix, default, summary."""
    from mlflow_lint.rules import ALL_RULES

    for rule in ALL_RULES:
        fix_safety = rule.fix_safety.value if rule.fix_safety else "-"
        default = "on" if rule.default_enabled else "opt-in"
        click.echo(f"{rule.code}  {rule.name:<32} fix: {fix_safety:<7} {default:<7} {rule.summary}")


@main.command(context_settings=CONTEXT_SETTINGS)
@click.argument("code")
def rule(code: str) -> None:
    """Explain a rule (by code or name): what it does, why, examples, fix safety."""
    from mlflow_lint import docs
    from mlflow_lint.rules import lookup

    found = lookup(code)
    if found is None:
        raise click.UsageError(f"unknown rule {code!r}; `mlflow-lint rules` lists them")
    click.echo(docs.render_rule(found))


@main.command(context_settings=CONTEXT_SETTINGS)
@click.option("--stdio", is_flag=True, help="Use standard input/output (the default and only way).")
def server(stdio: bool) -> None:
    """Run the language server for editors (LSP over stdio; needs the `lsp` extra)."""
    try:
        from mlflow_lint.server import serve
    except ImportError as error:
        if (error.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise
        click.echo(
            f"mlflow-lint server needs pygls ({error}): pip install 'mlflow-lint[lsp]' "
            "(from a checkout: pip install '.[lsp]')",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    serve()


PROFILE_CONTEXT = {
    **CONTEXT_SETTINGS,
    # everything after PROGRAM is the program's own, options included
    "ignore_unknown_options": True,
    "allow_interspersed_args": False,
}


@main.command(context_settings=PROFILE_CONTEXT)
@option_group(
    "Program",
    click.option(
        "-m",
        "module",
        metavar="MODULE",
        default=None,
        help="Run a module as `python -m` does (`-m pytest tests/` profiles a test run).",
    ),
)
@option_group(
    "Report",
    click.option(
        "--output-format",
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="A table for the terminal, or JSON for tools.",
    ),
    click.option(
        "-o",
        "--output-file",
        type=click.Path(dir_okay=False, writable=True),
        default=None,
        help="Write the report to this file instead of standard output.",
    ),
    click.option(
        "--top", type=click.IntRange(min=1), default=10, show_default=True, help="Lines to show."
    ),
    click.option(
        "--blind-spot-min",
        type=click.IntRange(min=1),
        default=10,
        show_default=True,
        help="Requests from one line with no finding that make it a blind spot.",
    ),
)
@option_group(
    "Rule selection (for the findings shown next to the lines)",
    click.option(
        "--select",
        multiple=True,
        callback=_codes,
        metavar="RULE_CODE",
        help="Rule codes or prefixes to enable, comma-separated (or ALL).",
    ),
    click.option(
        "--extend-select",
        multiple=True,
        callback=_codes,
        metavar="RULE_CODE",
        help="Like --select, but adds to the selection.",
    ),
    click.option(
        "--ignore",
        multiple=True,
        callback=_codes,
        metavar="RULE_CODE",
        help="Rule codes or prefixes to disable.",
    ),
    click.option(
        "--config",
        "config_path",
        type=click.Path(exists=True, dir_okay=False),
        help="The pyproject.toml to use instead of the nearest one.",
    ),
)
@argument("program", nargs=-1, type=click.UNPROCESSED, metavar="[PROGRAM [ARGS]...]")
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
    run = RunOptions(
        paths=(start,),
        select=select,
        extend_select=extend_select,
        ignore=ignore,
        config_path=config_path,
    )
    try:
        settings = load_settings(run, run.paths)
    except ConfigError as error:
        click.echo(f"mlflow-lint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    options = Options(target, settings, output_format, output_file, top, blind_spot_min)
    try:
        code = run_profile(options)
    except ProfileError as error:
        click.echo(f"mlflow-lint profile: {error}", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code)


__all__ = ["RunOptions", "main", "run_once"]
