"""Every message says what is wrong in one short sentence; the remedy goes in `help`.

For every rule, on every finding its examples (rules/<CODE>/*.py) produce: the message is at
most MAX_MESSAGE characters, one sentence (no `; ` joining a second clause, no `. ` starting
another, no trailing period); the remedy, when there is one, is in `Violation.help`, not
repeated in the message. Rules whose messages still carry their advice are listed in
NOT_CONVERTED: their test is an expected failure (strict: once a rule is converted, its entry
must go, and the test holds it to the rule from then on).
"""

from __future__ import annotations

import pytest
from conftest import RULES_DIR

from mlflow_lint import engine
from mlflow_lint.config import build_settings
from mlflow_lint.flake8_plugin import flake8_message
from mlflow_lint.rule import Violation
from mlflow_lint.rules import ALL_RULES

MAX_MESSAGE = 100
# Rules whose messages still hold the remedy (their owners are moving it into `help`).
NOT_CONVERTED = frozenset(
    {
        "MLF101",
        "MLF102",
        "MLF103",
        "MLF104",
        "MLF105",
        "MLF106",
        "MLF107",
        "MLF108",
        "MLF109",
        "MLF201",
        "MLF202",
        "MLF301",
        "MLF302",
        "MLF303",
        "MLF304",
        "MLF305",
        "MLF306",
        "MLF401",
        "MLF901",
    }
)


def findings(code: str) -> list[Violation]:
    settings = build_settings(None, select=["ALL"])
    found = []
    for path in sorted((RULES_DIR / code).glob("*.py")):
        rules = settings.rules_for(str(path))
        violations = engine.analyze(path.read_text(), str(path), rules, settings)
        found += [v for v in violations if v.code == code]
    return found


def problems(v: Violation) -> list[str]:
    message = v.message
    found = []
    if len(message) > MAX_MESSAGE:
        found.append(f"{len(message)} characters (at most {MAX_MESSAGE})")
    if "; " in message:
        found.append("a second clause after `; ` (the remedy belongs in `help`)")
    if ". " in message.replace("e.g. ", "").replace("i.e. ", ""):
        found.append("more than one sentence")
    if message.endswith("."):
        found.append("a trailing period")
    if "\n" in message:
        found.append("a line break")
    if v.help and v.help.strip() in message:
        found.append("the help repeated in the message")
    if v.help != v.help.strip():
        found.append("help with surrounding blanks")
    return found


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            rule.code,
            marks=pytest.mark.xfail(
                rule.code in NOT_CONVERTED,
                reason="message still holds the remedy (to move into `help`)",
                strict=True,
            ),
        )
        for rule in ALL_RULES
    ],
)
def test_message_is_one_short_sentence(code: str) -> None:
    found = findings(code)
    assert found, f"{code}'s examples produce no finding"
    bad = {f"{v.line}:{v.column + 1}: {v.message!r}": problems(v) for v in found if problems(v)}
    assert not bad, bad


def test_flake8_line_carries_the_first_sentence_of_the_help() -> None:
    v = Violation(
        "MLF101",
        "metric-in-loop",
        "`mlflow.log_metric` in a loop sends one tracking request per iteration",
        3,
        4,
        3,
        40,
        help="Log each step's metrics in one `mlflow.log_metrics({...}, step=step)` call. "
        "Buffering with `MlflowClient.log_batch` cuts requests further.",
    )
    assert flake8_message(v) == (
        "`mlflow.log_metric` in a loop sends one tracking request per iteration; "
        "log each step's metrics in one `mlflow.log_metrics({...}, step=step)` call"
    )
    assert flake8_message(Violation("MLF1", "x", "What is wrong", 1, 0, 1, 1)) == "What is wrong"
    acronym = Violation("MLF1", "x", "What is wrong", 1, 0, 1, 1, help="MLflow batches them.")
    assert flake8_message(acronym) == "What is wrong; MLflow batches them"
