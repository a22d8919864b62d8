"""An evaluation loop that writes a small artifact for every epoch and every sample."""

import mlflow

SAMPLES = ["the cat sat", "a dog ran", "birds fly south", "fish swim", "ants march"]

with mlflow.start_run(run_name="mlf109-flagged"):
    for epoch in range(3):
        summary = {"epoch": epoch, "loss": round(1.0 / (epoch + 1), 4)}
        mlflow.log_dict(summary, f"summaries/epoch_{epoch}.json")
        mlflow.log_metrics({"loss": summary["loss"]}, step=epoch)
        mlflow.log_table({"epoch": [epoch], "loss": [summary["loss"]]}, artifact_file="loss.json")

    for index, text in enumerate(SAMPLES):
        prediction = text.upper()
        mlflow.log_text(prediction, f"predictions/sample_{index}.txt")
