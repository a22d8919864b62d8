"""Write a small report for every epoch."""

import mlflow

with mlflow.start_run(run_name="mlf109-flagged"):
    for epoch in range(3):
        summary = {"epoch": epoch, "loss": round(1.0 / (epoch + 1), 4)}
        mlflow.log_dict(summary, f"summaries/epoch_{epoch}.json")
        mlflow.log_text(f"epoch {epoch} done", f"logs/epoch_{epoch}.txt")
        mlflow.log_metrics({"loss": summary["loss"]}, step=epoch)
