"""Child runs with nested=True; one run per iteration, ended each time."""

import mlflow

with mlflow.start_run(run_name="mlf303-clean"):
    for fold in range(2):
        with mlflow.start_run(run_name=f"fold-{fold}", nested=True):
            mlflow.log_metric("auc", 0.8 + fold / 100)

for seed in range(2):
    mlflow.start_run(run_name=f"mlf303-clean-seed-{seed}")  # noqa: MLF302
    mlflow.log_param("seed", seed)
    mlflow.end_run()

# A retry loop: the first start that succeeds leaves the loop, so it starts one run.
for attempt in range(3):
    try:
        mlflow.start_run(run_name="mlf303-clean-retried")  # noqa: MLF302
        break
    except mlflow.exceptions.MlflowException:
        continue
mlflow.log_param("attempts", attempt + 1)
mlflow.end_run()
