"""Asynchronous logging inside a run that ends (and so flushes the queue), and in framework
callbacks, which log inside a run their caller owns."""

import mlflow

mlflow.config.enable_async_logging()
with mlflow.start_run(run_name="mlf305-clean"):
    for step in range(100):
        mlflow.log_metrics({"loss": 1.0 / (step + 1)}, step=step, synchronous=False)


class Callback:  # the framework's base class
    pass


class MlflowMetricsCallback(Callback):
    def on_epoch_end(self, epoch, logs):
        mlflow.log_metrics(logs, step=epoch, synchronous=False)


class EvalScoreCallbackLGBM:
    """LightGBM calls any callable after each boosting round: no base class needed."""

    def __call__(self, env):
        scores = {name: value for _, name, value, _ in env.evaluation_result_list}
        mlflow.log_metrics(scores, step=env.iteration, synchronous=False)
