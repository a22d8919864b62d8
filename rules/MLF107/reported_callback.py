"""A trainer callback that saves its plots per epoch into a temporary folder and uploads them
one file at a time (reported, no automatic fix: the folder also holds what the plots need)."""

import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mlflow  # noqa: E402


class PlotCallback:
    """Plots each tracked curve at the end of every epoch."""

    def __init__(self, curves):
        self.curves = curves
        self.history = {name: [] for name in curves}

    def on_epoch_end(self, epoch, logs):
        for name in self.curves:
            self.history[name].append(logs[name])
        with tempfile.TemporaryDirectory() as tmp:
            for name, values in self.history.items():
                figure, axes = plt.subplots()
                axes.plot(range(len(values)), values)
                path = os.path.join(tmp, f"{name}.png")
                figure.savefig(path)
                plt.close(figure)
                mlflow.log_artifact(path, artifact_path=f"plots/epoch_{epoch}")


def train(epochs, callback):
    for epoch in range(epochs):
        logs = {
            "loss": 1.0 / (epoch + 1),
            "val_loss": 1.2 / (epoch + 1),
            "accuracy": epoch / epochs,
            "lr": 0.1 * 0.5**epoch,
        }
        mlflow.log_metrics(logs, step=epoch)
        callback.on_epoch_end(epoch, logs)


if __name__ == "__main__":
    with mlflow.start_run(run_name="plot-callback"):
        train(3, PlotCallback(["loss", "val_loss", "accuracy", "lr"]))
