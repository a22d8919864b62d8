"""The rule registry: one small class per rule, one module per rule."""

from __future__ import annotations

from mlflow_lint.rule import Rule
from mlflow_lint.rules.artifact_upload import PerFileArtifactUpload
from mlflow_lint.rules.batched_inner_loop import BatchedLoggingInInnerLoop
from mlflow_lint.rules.client_in_loop import ClientInLoop
from mlflow_lint.rules.concurrency import (
    AsyncWithoutFlush,
    FluentLoggingInThreads,
    SqliteWithWorkerProcesses,
)
from mlflow_lint.rules.consecutive import (
    ConsecutiveLogMetric,
    ConsecutiveLogParam,
    ConsecutiveSetTag,
)
from mlflow_lint.rules.duplicate_param import DuplicateParamKey
from mlflow_lint.rules.log_after_run import LogAfterRunEnded
from mlflow_lint.rules.metric_in_loop import MetricInLoop
from mlflow_lint.rules.metric_without_step import MetricWithoutStep
from mlflow_lint.rules.param_in_loop import ParamInLoop
from mlflow_lint.rules.per_item_loop import PerItemLoggingLoop
from mlflow_lint.rules.read_in_loop import TrackingReadInLoop
from mlflow_lint.rules.run_context import RunNotContextManaged
from mlflow_lint.rules.small_artifacts import SmallArtifactsInLoop
from mlflow_lint.rules.start_run_active import StartRunWhileActive

ALL_RULES: tuple[type[Rule], ...] = (
    MetricInLoop,
    ConsecutiveLogMetric,
    ConsecutiveLogParam,
    ConsecutiveSetTag,
    PerItemLoggingLoop,
    ParamInLoop,
    PerFileArtifactUpload,
    MetricWithoutStep,
    SmallArtifactsInLoop,
    TrackingReadInLoop,
    ClientInLoop,
    DuplicateParamKey,
    RunNotContextManaged,
    StartRunWhileActive,
    LogAfterRunEnded,
    AsyncWithoutFlush,
    FluentLoggingInThreads,
    SqliteWithWorkerProcesses,
    BatchedLoggingInInnerLoop,
)
RULES_BY_CODE: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}
RULES_BY_NAME: dict[str, type[Rule]] = {rule.name: rule for rule in ALL_RULES}


def lookup(code_or_name: str) -> type[Rule] | None:
    return RULES_BY_CODE.get(code_or_name.upper()) or RULES_BY_NAME.get(code_or_name)
