"""Run a small hyperparameter sweep as child runs of one parent run."""

import mlflow

GRID = [0.01, 0.1, 1.0]

with mlflow.start_run(run_name="sweep"):
    mlflow.set_tag("kind", "grid-search")
    for alpha in GRID:
        # Without nested=True this raises: a run is already active.
        with mlflow.start_run(run_name=f"alpha-{alpha}"):
            mlflow.log_param("alpha", alpha)
            mlflow.log_metric("loss", round(1 / (1 + alpha), 6))
