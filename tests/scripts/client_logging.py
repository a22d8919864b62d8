"""Backtest a model over time windows and record them with the low-level MlflowClient API."""

import os

from mlflow import MlflowClient

WINDOWS = 5
START_MS = 1_700_000_000_000  # a fixed clock for the per-window timestamps

client = MlflowClient()
experiment_name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "backtest")
experiment = client.get_experiment_by_name(experiment_name)
if experiment is None:
    experiment_id = client.create_experiment(experiment_name)
else:
    experiment_id = experiment.experiment_id


def window_scores(window):
    mse = round(0.4 + 0.03 * ((window * 7) % WINDOWS), 6)
    return mse, round(1 - mse / 1.6, 6)


run = client.create_run(experiment_id, run_name="ridge-backtest", tags={"trigger": "nightly"})
run_id = run.info.run_id
try:
    client.log_param(run_id, "model", "ridge")
    client.log_param(run_id, "alpha", 0.5)
    client.log_param(run_id, "fit_intercept", True)
    client.log_param(run_id, "windows", WINDOWS)
    client.log_param(run_id, "solver", "cholesky")
    client.log_param(run_id, "max_iter", 1000)
    client.log_param(run_id, "tol", 1e-4)
    client.log_param(run_id, "shuffle", False)
    client.log_param(run_id, "random_state", 0)
    client.log_param(run_id, "copy_X", True)

    client.set_tag(run_id, "stage", "evaluation")
    client.set_tag(run_id, "owner", "ml-platform")

    scores = []
    for window in range(WINDOWS):
        # where the backtest is, for the runs table while it runs
        client.set_tag(run_id, "current_window", window)
        client.set_tag(run_id, "progress", f"{window + 1}/{WINDOWS}")
        mse, r2 = window_scores(window)
        scores.append(mse)
        client.log_metric(run_id, "window_mse", mse, step=window)
        client.log_metric(run_id, "window_r2", r2, START_MS + window * 1000, window)

    client.log_metric(run_id, "mean_mse", round(sum(scores) / WINDOWS, 6))
    client.log_metric(run_id, "worst_mse", max(scores))
except Exception:
    client.set_terminated(run_id, status="FAILED")
    raise
else:
    client.set_terminated(run_id)
