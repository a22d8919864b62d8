"""The pre-commit hooks, installed and run by the real pre-commit in a temporary Git repository,
with the configuration snippet from docs/usage.md pointed at a snapshot of this working tree.

pre-commit installs the hooks with pip into its own virtualenv (network access to PyPI); the
install happens once per test module (once per worker under pytest-xdist), in a PRE_COMMIT_HOME
shared by its tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_cli

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
HOOK_IDS = ("mlflow-lint", "mlflow-lint-fix")
FLAGGED = "import mlflow\n\nfor step in range(3):\n    mlflow.log_metric('loss', 0.1, step=step)\n"
CLEAN = textwrap.dedent(
    """\
    import mlflow

    with mlflow.start_run():
        mlflow.log_metrics({"loss": 0.5, "acc": 0.9}, step=1)
    """
)
# a pair per epoch: reported (a script's own code runs once per run, where fewer than ten
# calls are not reported)
MLF102_INPUT = textwrap.dedent(
    """\
    import mlflow
    for epoch in range(3):
        mlflow.log_metric("loss", 0.5, step=epoch)
        mlflow.log_metric("acc", 0.9, step=epoch)
    """
)
MLF102_FIXED = textwrap.dedent(
    """\
    import mlflow
    for epoch in range(3):
        mlflow.log_metrics({"loss": 0.5, "acc": 0.9}, step=epoch)
    """
)
# Copies of the working tree skip what .gitignore names and, without Git, these.
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "mlruns"
)


def clean_env(**extra: str) -> dict[str, str]:
    """No GIT_DIR/GIT_INDEX_FILE leaking in (tests run from a Git hook), no PRE_COMMIT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k != "PRE_COMMIT"}
    env.update(extra)
    return env


def git(*args: str, cwd: Path) -> str:
    identity = ("-c", "user.name=mlflow-lint tests", "-c", "user.email=tests@example.com")
    result = subprocess.run(
        ["git", *identity, "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean_env(),
        check=True,
        timeout=120,
    )
    return result.stdout


def snapshot_working_tree(destination: Path) -> str:
    """Commit the working tree as it is (tracked and untracked files, minus ignored ones) in a
    new repository; returns the commit. `pre-commit try-repo` on this checkout would not do:
    its shadow commit has the tracked changes only, not new files. Read-only on the checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            env=clean_env(),
            check=True,
            timeout=120,
        ).stdout.decode()
        names = [name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a Git checkout
        names = []
    if names:
        for name in names:
            source = ROOT / name
            if source.is_file():  # deleted-but-tracked files are listed too
                (destination / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination / name)
    else:
        shutil.copytree(ROOT, destination, ignore=SKIP, dirs_exist_ok=True)
    git("init", "-q", cwd=destination)
    git("add", "-A", cwd=destination)
    git("commit", "-q", "-m", "snapshot", cwd=destination)
    return git("rev-parse", "HEAD", cwd=destination).strip()


def documented_config(marker: str = "pre-commit-config") -> str:
    """A .pre-commit-config.yaml snippet of docs/usage.md: the published repository's
    (`pre-commit-config`, with placeholders for its URL and tag) or the local one
    (`pre-commit-config-local`, used exactly as written)."""
    text = (ROOT / "docs" / "usage.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```yaml\n(.*?)```", text, re.S)
    assert match, f"docs/usage.md lost its {marker} snippet"
    return match.group(1)


@dataclass
class Project:
    path: Path
    env: dict[str, str]

    def run(self, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(PRE_COMMIT), "run", hook, "--color", "never", "--files", *files],
            cwd=self.path,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=600,
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
        return result

    def write(self, name: str, text: str) -> Path:
        path = self.path / name
        path.write_text(text)
        git("add", name, cwd=self.path)
        return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    hook_repo = tmp_path_factory.mktemp("hook-repo")
    rev = snapshot_working_tree(hook_repo)
    path = tmp_path_factory.mktemp("project")
    git("init", "-q", cwd=path)
    git("config", "user.name", "mlflow-lint tests", cwd=path)
    git("config", "user.email", "tests@example.com", cwd=path)
    config = yaml.safe_load(documented_config())
    (ours,) = config["repos"]
    ours.update(repo=hook_repo.as_posix(), rev=rev)
    # a local hook that shows what the hooks' processes see
    show_jobs = "from mlflow_lint.runner import default_jobs; print('default_jobs', default_jobs())"
    local = {
        "id": "show-default-jobs",
        "name": "show-default-jobs",
        "language": "system",
        "entry": f'{Path(sys.executable).as_posix()} -c "{show_jobs}"',
        "pass_filenames": False,
        "always_run": True,
        "verbose": True,
    }
    config["repos"].append({"repo": "local", "hooks": [local]})
    (path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git("add", ".pre-commit-config.yaml", cwd=path)
    env = clean_env(PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")))
    installed = subprocess.run(
        [str(PRE_COMMIT), "install-hooks"],
        cwd=path,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield Project(path, env)


def test_hooks_file_and_documented_config_agree() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {hook["id"]: hook["entry"] for hook in hooks} == {
        "mlflow-lint": "mlflow-lint check --force-exclude",
        "mlflow-lint-fix": "mlflow-lint check --fix --force-exclude",
    }
    for hook in hooks:
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "jupyter"]
        assert hook["require_serial"] is False
    (documented,) = yaml.safe_load(documented_config())["repos"]
    assert {hook["id"] for hook in documented["hooks"]} == set(HOOK_IDS)
    validated = subprocess.run(
        [str(PRE_COMMIT), "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_pre_commit_sets_the_variable_default_jobs_reads(project: Project) -> None:
    result = project.run("show-default-jobs")
    assert result.returncode == 0, result.stdout
    assert "default_jobs 1" in result.stdout


def test_clean_file_passes_both_hooks(project: Project) -> None:
    assert run_cli("check", "-", input=CLEAN.encode()).returncode == 0, "CLEAN must be clean"
    path = project.write("clean.py", CLEAN)
    for hook in HOOK_IDS:
        result = project.run(hook, "clean.py")
        assert result.returncode == 0, result.stdout
        assert re.search(rf"^{re.escape(hook_name(hook))}\.+Passed$", result.stdout, re.M)
    assert path.read_text() == CLEAN


def test_violating_file_fails_the_check_hook_with_the_finding(project: Project) -> None:
    path = project.write("flagged.py", FLAGGED)
    expected = run_cli("check", "-q", "flagged.py", cwd=project.path).stdout.splitlines()
    assert expected and expected[0].startswith("flagged.py:4:5: MLF101 ")
    result = project.run("mlflow-lint", "flagged.py")
    assert result.returncode == 1
    assert re.search(r"^mlflow-lint\.+Failed$", result.stdout, re.M)
    assert "- exit code: 1" in result.stdout
    for line in expected:
        assert line in result.stdout.splitlines()
    assert path.read_text() == FLAGGED


def test_fix_hook_rewrites_a_safely_fixable_file(project: Project) -> None:
    if not re.search(r"^MLF102\s", run_cli("rules").stdout, re.M):
        pytest.skip("MLF102 (consecutive log_metric -> log_metrics) is not implemented yet")
    path = project.write("metrics.py", MLF102_INPUT)
    first = project.run("mlflow-lint-fix", "metrics.py")
    assert first.returncode == 1, first.stdout
    assert "- files were modified by this hook" in first.stdout
    assert path.read_text() == MLF102_FIXED
    second = project.run("mlflow-lint-fix", "metrics.py")
    assert second.returncode == 0, second.stdout
    assert path.read_text() == MLF102_FIXED
    assert project.run("mlflow-lint", "metrics.py").returncode == 0


def hook_name(hook_id: str) -> str:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return str(next(hook["name"] for hook in hooks if hook["id"] == hook_id))


# --- the `repo: local` configuration of docs/usage.md, exactly as written -------------------------
@pytest.fixture(scope="module")
def local_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    path = tmp_path_factory.mktemp("local-project")
    git("init", "-q", cwd=path)
    (path / ".pre-commit-config.yaml").write_text(documented_config("pre-commit-config-local"))
    git("add", ".pre-commit-config.yaml", cwd=path)
    # `language: system`: the mlflow-lint on PATH, as installed in the user's environment
    bin_dir = str(Path(sys.executable).parent)
    env = clean_env(
        PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
        PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home-local")),
    )
    return Project(path, env)


def test_local_config_is_the_hooks_file(local_project: Project) -> None:
    """The local snippet runs what .pre-commit-hooks.yaml defines, hook for hook."""
    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    }
    (repo,) = yaml.safe_load(documented_config("pre-commit-config-local"))["repos"]
    assert repo["repo"] == "local"
    for hook in repo["hooks"]:
        published = hooks[hook["id"]]
        for key in ("name", "entry", "types_or", "require_serial"):
            assert hook[key] == published[key], (hook["id"], key)
        assert hook["language"] == "system"


def test_local_hooks_check_and_fix(local_project: Project) -> None:
    project = local_project
    project.write("clean.py", CLEAN)
    for hook in HOOK_IDS:
        result = project.run(hook, "clean.py")
        assert result.returncode == 0, result.stdout + result.stderr
    path = project.write("metrics.py", MLF102_INPUT)
    checked = project.run("mlflow-lint", "metrics.py")
    assert checked.returncode == 1
    assert "metrics.py:3:5: MLF102 " in checked.stdout
    fixed = project.run("mlflow-lint-fix", "metrics.py")
    assert fixed.returncode == 1 and "- files were modified by this hook" in fixed.stdout
    assert path.read_text() == MLF102_FIXED
    assert project.run("mlflow-lint", "metrics.py").returncode == 0


def test_batches_do_not_contradict_each_other(local_project: Project) -> None:
    """pre-commit runs batches of files in parallel (here two: 2 cores or more, 12 files); one
    batch's summary must not read as the whole run's: findings and a batch summary, never
    "All checks passed!"."""
    project = local_project
    names = [f"batch_{i:02d}.py" for i in range(12)]
    for name in names:
        project.write(name, CLEAN)
    project.write(names[0], FLAGGED)
    result = subprocess.run(
        [str(PRE_COMMIT), "run", "mlflow-lint", "--color", "never", "--verbose", "--files", *names],
        cwd=project.path,
        capture_output=True,
        text=True,
        env={**project.env, "PRE_COMMIT_NO_CONCURRENCY": ""},
        timeout=600,
    )
    out = result.stdout
    assert result.returncode == 1, out
    assert "batch_00.py:4:5: MLF101 " in out
    assert "All checks passed!" not in out
    summaries = [line for line in out.splitlines() if "checked in this batch." in line]
    assert summaries and all(line.startswith("Found 1 finding in 1 file.") for line in summaries)
    assert "\x1b[" not in out  # no colour in pre-commit's output when it has none
