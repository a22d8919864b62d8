"""The catalogue (what runs read before they import the rules, and libcst) says what the rule
classes say; the warm path and the prefilter import neither the rules nor libcst, and the warm
path not even the engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mlflow_lint import catalogue


def test_catalogue_matches_the_rule_classes() -> None:
    assert catalogue.from_rules() == catalogue.ALL_RULES, (
        "mlflow_lint/catalogue.py is out of date: run `python -m mlflow_lint.catalogue`"
    )


def _run_and_list_modules(script: str, cwd: Path) -> tuple[str, set[str]]:
    """What `script` prints, and the modules imported once it ran."""
    code = f"{script}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout
    *printed, modules = out.splitlines()
    return "\n".join(printed), set(json.loads(modules))


def test_warm_runs_import_neither_libcst_nor_the_rules(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.mlflow-lint]\n")
    flagged = tmp_path / "train.py"
    flagged.write_text(
        "import mlflow\n\nfor step in range(3):\n    mlflow.log_metric('loss', step)\n"
    )
    (tmp_path / "plain.py").write_text("print('no tracking here')\n")
    (tmp_path / "mentions.py").write_text("# mlflow is not used here\nprint('x')\n")
    for path in tmp_path.glob("*.py"):  # older than the racy window: the stat index keeps them
        os.utime(path, (time.time() - 60, time.time() - 60))
    script = (
        "import sys\nfrom mlflow_lint.cli import main\n"
        "sys.argv = ['mlflow-lint', 'check', '--jobs', '1', '.']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    cold, modules = _run_and_list_modules(script, tmp_path)
    assert "MLF101" in cold
    assert "libcst" in modules
    # unchanged files: the stat index answers
    warm, modules = _run_and_list_modules(script, tmp_path)
    assert warm == cold
    assert "libcst" not in modules
    assert not any(m.startswith("mlflow_lint.rules") for m in modules)
    # nor the analysis around them: the stat index hands back results without the engine
    assert not {"mlflow_lint.engine", "mlflow_lint.elision", "mlflow_lint.mlflow_api"} & modules
    # nor a scan of the installed packages' metadata (a tenth of a warm run, once)
    assert "importlib.metadata" not in modules
    # files touched but not changed: the prefilter and the content cache answer
    for path in tmp_path.glob("*.py"):
        os.utime(path)
    touched, modules = _run_and_list_modules(script, tmp_path)
    assert touched == cold
    assert "libcst" not in modules
    assert not any(m.startswith("mlflow_lint.rules") for m in modules)


def test_the_flake8_plugin_imports_no_libcst_until_it_analyses(tmp_path: Path) -> None:
    _, modules = _run_and_list_modules("import mlflow_lint.flake8_plugin", tmp_path)
    assert "libcst" not in modules
