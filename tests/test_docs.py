"""docs/: every rule has a page, every page is what its rule renders to now (so a page can never
disagree with the rule's metadata, docstring or examples), `mlflow-lint rule CODE` prints the
page, and the configuration page covers every key and option."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import RULES_DIR, run_cli

from mlflow_lint import docs, engine
from mlflow_lint.config import DEFAULT_EXCLUDE, KEYS, build_settings
from mlflow_lint.rules import ALL_RULES

ROOT = RULES_DIR.parent
DOCS = ROOT / "docs"
OWN_PAGES = ["index.md", "configuration.md", "fix-safety.md"]
SECTIONS = ["What it does", "Why is this bad", "Example", "Use instead", "Fix safety", "Options"]


def test_every_rule_has_a_page_and_every_page_a_rule() -> None:
    pages = sorted(p.stem for p in (DOCS / "rules").glob("*.md"))
    assert pages == sorted(rule.code for rule in ALL_RULES)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_page_is_the_rendered_rule(rule: type) -> None:
    page = (DOCS / "rules" / f"{rule.code}.md").read_text(encoding="utf-8")
    assert page == docs.render_page(rule), (
        f"docs/rules/{rule.code}.md is out of date: run `python -m mlflow_lint.docs`"
    )


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_page_sections_and_examples(rule: type) -> None:
    page = (DOCS / "rules" / f"{rule.code}.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", page, re.M)
    assert [h for h in headings if h != "Not flagged"] == SECTIONS
    if "Not flagged" in headings:  # Ruff's order: after the fix safety
        assert headings.index("Not flagged") == SECTIONS.index("Fix safety") + 1
    assert page.count(f"# {rule.code}: {rule.name}\n") == 1
    assert rule.summary in page
    # the examples are the repository's files, whole
    folder = RULES_DIR / rule.code
    example = page.split("## Example\n\n```python\n", 1)[1].split("\n```\n", 1)[0]
    assert example == (folder / "flagged.py").read_text().rstrip()
    use_instead = page.split("## Use instead\n\n", 1)[1].split("```python\n", 1)[1]
    instead = folder / "flagged.fixed.py"
    if not instead.exists():
        instead = folder / "clean.py"
    assert use_instead.split("\n```\n", 1)[0] == instead.read_text().rstrip()
    # the findings shown are the rule's own, on that example
    shown = page.split(f"`mlflow-lint check --select {rule.code}` reports:\n\n```text\n", 1)[1]
    shown_lines = shown.split("\n```\n", 1)[0].splitlines()
    # (with only this rule selected: a finding another rule covers is this rule's then)
    alone = build_settings(None, select=[rule.code])
    result = engine.check_file(str(folder / "flagged.py"), alone)
    own = [f"flagged.py:{v.line}:{v.column + 1}: {v.code}" for v in result.violations]
    assert own, "the flagged example must trigger the rule on its own"
    assert [line.split(f" {rule.code} ")[0] + f" {rule.code}" for line in shown_lines] == own
    for name in rule.options:
        assert f"`{name}`" in page.split("## Options", 1)[1]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_rule_command_prints_the_page(rule: type) -> None:
    """`mlflow-lint rule CODE` prints the page without its generated-comment header and its
    links footer (docs.strip_page), also by name."""
    page = (DOCS / "rules" / f"{rule.code}.md").read_text(encoding="utf-8")
    result = run_cli("rule", rule.code)
    assert result.returncode == 0
    assert result.stdout == docs.strip_page(page, rule.code)
    assert docs.render_page(rule) == (
        docs.PAGE_HEADER.format(code=rule.code) + result.stdout + docs.PAGE_FOOTER
    )
    if rule.code == "MLF101":
        assert run_cli("rule", rule.name).stdout == result.stdout


def test_generated_blocks_and_the_script_agree() -> None:
    for path, text in docs.expected_files(DOCS).items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is out of date: run `python -m mlflow_lint.docs`"
        )
    result = subprocess.run(
        [sys.executable, "-m", "mlflow_lint.docs", "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_script_writes_and_checks(tmp_path: Path) -> None:
    for name in ["index.md", "configuration.md"]:
        text = (DOCS / name).read_text(encoding="utf-8")
        # the generated blocks emptied: the script fills them in
        for block in ["rules-table", "default-exclude", "rule-options"]:
            if f"<!-- begin {block} -->" in text:
                text = docs.replace_block(text, block, "")
        (tmp_path / name).write_text(text)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "MLF999.md").write_text("a rule that is gone\n")
    assert docs.main(["--docs-dir", str(tmp_path), "--check"]) == 1
    assert docs.main(["--docs-dir", str(tmp_path)]) == 0
    assert docs.main(["--docs-dir", str(tmp_path), "--check"]) == 0
    assert not (tmp_path / "rules" / "MLF999.md").exists()
    for name in ["index.md", "configuration.md"]:
        assert (tmp_path / name).read_text() == (DOCS / name).read_text()
    for rule in ALL_RULES:
        page = f"rules/{rule.code}.md"
        assert (tmp_path / page).read_text() == (DOCS / page).read_text()


def test_configuration_covers_every_key_and_option() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for key in KEYS:
        assert f"### `{key}`" in text, key
        assert re.search(rf"`{key}`.*?Default", text, re.S), key
    for pattern in DEFAULT_EXCLUDE:
        assert f'"{pattern}"' in text
    sections = re.split(r"^### ", text, flags=re.M)
    for rule in ALL_RULES:
        [section] = [s for s in sections if s.startswith(f"{rule.code} ({rule.name})")]
        for name, option in rule.options.items():
            assert f"`{name}` ({option.type.__name__}, default `" in section
            assert f"[tool.mlflow-lint.{rule.code}]\n" in section
        if not rule.options:
            assert "No options." in section


def test_index_lists_every_rule() -> None:
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    for rule in ALL_RULES:
        assert f"| [{rule.code}](rules/{rule.code}.md) | {rule.name} |" in text


@pytest.mark.parametrize("name", [*OWN_PAGES, "rules/MLF101.md", "../README.md"])
def test_relative_links_resolve(name: str) -> None:
    path = DOCS / name
    text = path.read_text(encoding="utf-8")
    if name == "../README.md":
        text = text.split("## Documentation", 1)[1]
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.exists(), f"{name}: broken link {target}"
        if anchor and resolved.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", resolved.read_text(encoding="utf-8"), re.M)
            slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{name}: no heading for #{anchor} in {file or name}"


def test_docs_can_be_regenerated_from_an_installed_copy(tmp_path: Path) -> None:
    """The examples come from the package (mlflow_lint.examples), which is rules/."""
    assert docs.example("MLF101", "flagged.py") == (RULES_DIR / "MLF101" / "flagged.py").read_text()
    shutil.copytree(DOCS, tmp_path / "docs")
    assert docs.main(["--docs-dir", str(tmp_path / "docs"), "--check"]) == 0
