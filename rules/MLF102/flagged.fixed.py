"""Log a validation summary after each epoch, one request per metric."""

import mlflow

EPOCHS = 3

with mlflow.start_run(run_name="mlf102-flagged"):
    for epoch in range(EPOCHS):
        train_loss = round(1.0 / (epoch + 1), 4)
        val_loss = round(train_loss * 1.1, 4)
        accuracy = round(0.5 + epoch / 10, 4)

        mlflow.log_metrics(
            {
                "train_loss": train_loss,
                "val_loss": val_loss,
                "accuracy": accuracy,
            },
            step=epoch,
        )

    mlflow.log_metrics({"best_val_loss": val_loss, "epochs_trained": EPOCHS})  # summary for the run table
