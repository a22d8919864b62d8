"""Logging patterns that do not send one request per loop iteration."""

import mlflow


class ConsoleLogger:
    def log_metric(self, key, value, step=None):
        print(f"{key}={value} step={step}")


def evaluate(config):
    return round(config["lr"] * 10, 6)


logger = ConsoleLogger()
grid = [{"lr": 0.1}, {"lr": 0.01}]

# A hyperparameter sweep: one run per configuration, one request per run.
for config in grid:
    with mlflow.start_run(run_name=f"lr={config['lr']}"):
        mlflow.log_param("lr", config["lr"])
        mlflow.log_metric("score", evaluate(config))

with mlflow.start_run(run_name="mlf101-clean"):
    history = []
    for step in range(20):
        loss = 1.0 / (step + 1)
        history.append(loss)
        logger.log_metric("loss", loss, step=step)  # not MLflow
        mlflow.log_metrics({"loss": loss, "lr": 0.1}, step=step)  # one batched request per step
        if step % 10 == 0:
            mlflow.log_metric("checkpoint_loss", loss, step=step)  # every N steps
    mlflow.log_metric("final_loss", history[-1])  # after the loop

    for step, loss in enumerate(history):
        if loss < 0.2:
            mlflow.log_metric("first_step_below_0.2", step)
            break

    callbacks = [lambda s: mlflow.log_metric("callback", s) for _ in range(2)]

with mlflow.start_run(run_name="mlf101-clean-splits"):
    # A written-out handful (three items or fewer): as many requests as three statements,
    # not a number that grows with the data.
    for split in ("train", "val", "test"):
        mlflow.log_metric(f"{split}_accuracy", 0.9)
