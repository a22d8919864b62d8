"""The README's set-up command, this repository's own configuration, and links: what a new
user meets first must be true and must not invite damage."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, run_cli

from mlflow_lint import docs, formats
from mlflow_lint.rules import RULES_BY_CODE


def readme_setup_command() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up", 1)[1]
    match = re.search(r"```sh\n(.*?)\n```", section, re.S)
    assert match
    return match.group(1)


def test_readme_first_command_shows_real_findings_and_no_fixture() -> None:
    command = readme_setup_command()
    assert command.startswith("pip install . && mlflow-lint check ")
    args = command.split("&& mlflow-lint ", 1)[1].split()
    result = run_cli(*args, cwd=ROOT)  # the package is installed already
    assert result.returncode == 1, result.stdout + result.stderr
    paths = {line.split(":")[0] for line in result.stdout.splitlines() if ": MLF" in line}
    assert paths == {"demo/train.py"}
    assert len(result.stdout.splitlines()) >= 4  # several findings
    assert "fixable with `mlflow-lint fix`" in result.stdout
    before = (ROOT / "demo" / "train.py").read_bytes()
    diff = run_cli("check", "--diff", "demo/", cwd=ROOT)
    assert diff.returncode == 1 and diff.stdout.startswith("--- a/demo/train.py\n")
    assert (ROOT / "demo" / "train.py").read_bytes() == before


@pytest.mark.parametrize(
    "paths",
    [[], ["rules"], ["rules/MLF102/flagged.py"], ["tests"], ["tests/scripts"], ["benchmarks"]],
)
def test_fix_stays_away_from_this_repositorys_fixtures(paths: list[str]) -> None:
    """`check --fix` (here `--diff`, which finds the same files and writes nothing) at the
    repository's root or on the fixtures themselves changes nothing but demo/."""
    result = run_cli("check", "--diff", *paths, cwd=ROOT)
    changed = re.findall(r"^--- a/(\S+)", result.stdout, re.M)
    assert all(path.startswith("demo/") for path in changed), changed
    if paths:
        assert not changed
        assert result.stderr == "warning: No Python files found under the given path(s)\n"
    # and they can still be looked at, on purpose
    if paths and paths[0].startswith("rules"):
        assert run_cli("check", "--no-force-exclude", *paths, cwd=ROOT).returncode == 1


def test_no_placeholder_links() -> None:
    texts = [ROOT / "README.md", ROOT / ".pre-commit-hooks.yaml", ROOT / "pyproject.toml"]
    texts += sorted((ROOT / "docs").rglob("*.md")) + sorted((ROOT / "mlflow_lint").rglob("*.py"))
    for path in texts:
        text = path.read_text()
        assert "OWNER" not in text, path
        assert "example.com" not in text, path


def test_links_come_from_project_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = RULES_BY_CODE["MLF101"]
    monkeypatch.setattr(docs, "project_urls", lambda: {})
    descriptor = formats.rule_descriptor(rule)
    assert "helpUri" not in descriptor
    assert descriptor["help"]["markdown"].startswith("# MLF101: metric-in-loop")  # the whole page
    urls = {
        "homepage": "https://mlflow-lint.test",
        "documentation": "https://mlflow-lint.test/docs",
    }
    monkeypatch.setattr(docs, "project_urls", lambda: urls)
    assert (
        formats.rule_descriptor(rule)["helpUri"] == "https://mlflow-lint.test/docs/rules/MLF101.md"
    )
    assert docs.project_url() == "https://mlflow-lint.test"
    pytest.importorskip("pygls")
    from mlflow_lint import server

    assert (
        server._code_description("MLF101").href == "https://mlflow-lint.test/docs/rules/MLF101.md"
    )
    monkeypatch.setattr(docs, "project_urls", lambda: {})
    assert server._code_description("MLF101") is None


def test_project_urls_are_read_from_the_installed_metadata() -> None:
    """pyproject.toml has no [project.urls] (no published repository yet): no links."""
    assert "[project.urls]" not in (ROOT / "pyproject.toml").read_text()
    docs.project_urls.cache_clear()
    assert docs.project_urls() == {}


def test_hover_explains_the_finding() -> None:
    pytest.importorskip("pygls")
    from mlflow_lint import server
    from mlflow_lint.rule import Violation

    v = Violation("MLF101", "metric-in-loop", "What is wrong", 1, 0, 1, 5, help="Do this")
    text = server.hover_text(v)
    assert text.startswith("**MLF101** What is wrong\n\nhelp: Do this\n\n# MLF101: metric-in-loop")
    assert "## Why is this bad" in text


def test_extras_install_from_a_checkout() -> None:
    """The docs say `pip install '.[lsp]'` / `'.[watch]'` (no index has mlflow-lint yet)."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^lsp = ", pyproject, re.M) and re.search(r"^watch = ", pyproject, re.M)
    for name in ("README.md", "docs/editor.md", "docs/index.md"):
        text = (ROOT / name).read_text()
        for line in text.splitlines():
            if "pip install 'mlflow-lint[" in line:
                assert line.startswith("(Once mlflow-lint is published on an index"), (name, line)
