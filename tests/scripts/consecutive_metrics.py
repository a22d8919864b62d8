"""Fit y = 3x + 1 with plain gradient descent and track the curves in MLflow.

Every epoch logs its numbers one `log_metric` call at a time.
"""

import mlflow

LEARNING_RATE = 0.05
EPOCHS = 8

TRAIN = [(x / 10, 3 * x / 10 + 1) for x in range(20)]
VALID = [(x / 10 + 0.05, 3 * (x / 10 + 0.05) + 1) for x in range(10)]


def mse(w, b, data):
    return sum((w * x + b - y) ** 2 for x, y in data) / len(data)


def gradient(w, b, data):
    n = len(data)
    gw = sum(2 * (w * x + b - y) * x for x, y in data) / n
    gb = sum(2 * (w * x + b - y) for x, y in data) / n
    return gw, gb


with mlflow.start_run(run_name="linear-regression"):
    w, b = 0.0, 0.0
    best_valid = float("inf")
    train_loss = mse(w, b, TRAIN)
    for epoch in range(EPOCHS):
        gw, gb = gradient(w, b, TRAIN)
        w -= LEARNING_RATE * gw
        b -= LEARNING_RATE * gb
        train_loss = mse(w, b, TRAIN)
        valid_loss = mse(w, b, VALID)
        best_valid = min(best_valid, valid_loss)

        mlflow.log_metric("train_loss", train_loss, step=epoch)
        mlflow.log_metric("valid_loss", valid_loss, step=epoch)
        mlflow.log_metric("weight", w, step=epoch)
        mlflow.log_metric("bias", b, step=epoch)
        mlflow.log_metric("grad_norm", (gw**2 + gb**2) ** 0.5, step=epoch)

    # The summary: the final loss on the last step, the rest without a step.
    mlflow.log_metric("final_train_loss", train_loss, step=EPOCHS)
    mlflow.log_metric("best_valid_loss", best_valid)
    mlflow.log_metric("final_weight", round(w, 6))
    mlflow.log_metric("final_bias", round(b, 6))
