"""Which calls count as MLflow's: the resolver, probed through MLF101 (log_metric in a loop)."""

from __future__ import annotations

import pytest
from conftest import lines_flagged

LOOP = "for step in range(10):\n"


def flagged(source: str) -> bool:
    return bool(lines_flagged(source, "MLF101"))


@pytest.mark.parametrize(
    "setup, call",
    [
        ("import mlflow", "mlflow.log_metric('k', 1.0)"),
        ("import mlflow as mf", "mf.log_metric('k', 1.0)"),
        ("from mlflow import log_metric", "log_metric('k', 1.0)"),
        ("from mlflow import log_metric as lm", "lm('k', 1.0)"),
        ("import mlflow", "mlflow.tracking.fluent.log_metric('k', 1.0)"),
        ("import mlflow.tracking.fluent as fl", "fl.log_metric('k', 1.0)"),
        ("from mlflow.tracking.fluent import log_metric", "log_metric('k', 1.0)"),
        ("from mlflow.tracking import fluent", "fluent.log_metric('k', 1.0)"),
        ("import mlflow.tracking", "mlflow.log_metric('k', 1.0)"),
        ("from mlflow import *", "log_metric('k', 1.0)"),
        ("from mlflow import MlflowClient", "MlflowClient().log_metric('r', 'k', 1.0)"),
        ("import mlflow", "mlflow.MlflowClient().log_metric('r', 'k', 1.0)"),
        ("import mlflow", "mlflow.tracking.MlflowClient().log_metric('r', 'k', 1.0)"),
        ("from mlflow.tracking import MlflowClient", "MlflowClient().log_metric('r', 'k', 1)"),
        ("from mlflow.client import MlflowClient", "MlflowClient().log_metric('r', 'k', 1)"),
        ("from mlflow import MlflowClient\nc = MlflowClient()", "c.log_metric('r', 'k', 1)"),
        ("import mlflow\nlm = mlflow.log_metric", "lm('k', 1.0)"),
        (
            "import mlflow\nclient = mlflow.MlflowClient(tracking_uri='x')",
            "client.log_metric('r', 'k', 1)",
        ),
        (
            "try:\n    import mlflow\nexcept ImportError:\n    mlflow = None",
            "mlflow.log_metric('k', 1)",
        ),
    ],
)
def test_module_level_spellings_resolve(setup: str, call: str) -> None:
    assert flagged(f"{setup}\n{LOOP}    {call}\n")


@pytest.mark.parametrize(
    "source",
    [
        # assigned from MlflowClient in the same function
        """
        from mlflow import MlflowClient
        def train():
            client = MlflowClient()
            for step in range(3):
                client.log_metric("r", "k", 1.0, step=step)
        """,
        # module-level client used in a function
        """
        import mlflow
        client = mlflow.MlflowClient()
        def train():
            for step in range(3):
                client.log_metric("r", "k", 1.0, step=step)
        """,
        # parameter annotations
        """
        from mlflow import MlflowClient
        def train(client: MlflowClient):
            for step in range(3):
                client.log_metric("r", "k", 1.0, step=step)
        """,
        """
        from typing import Optional
        import mlflow
        def train(client: Optional[mlflow.MlflowClient] = None):
            for step in range(3):
                client.log_metric("r", "k", 1.0, step=step)
        """,
        """
        from mlflow import MlflowClient
        def train(client: "MlflowClient | None"):
            for step in range(3):
                client.log_metric("r", "k", 1.0, step=step)
        """,
        """
        from mlflow.tracking import MlflowClient
        def train(client: "MlflowClient"):
            for step in range(3):
                client.log_metric("r", "k", 1.0, step=step)
        """,
        """
        from mlflow import MlflowClient
        def train(client: MlflowClient | None):
            for step in range(3):
                client.log_metric("r", "k", 1.0, step=step)
        """,
        # attributes: assigned in __init__, or annotated on the class
        """
        from mlflow import MlflowClient
        class Trainer:
            def __init__(self):
                self.client = MlflowClient()
            def fit(self):
                for step in range(3):
                    self.client.log_metric("r", "k", 1.0, step=step)
        """,
        """
        import mlflow
        class Trainer:
            client: mlflow.MlflowClient
            def fit(self):
                for step in range(3):
                    self.client.log_metric("r", "k", 1.0, step=step)
        """,
        """
        from mlflow import MlflowClient
        class Trainer:
            def __init__(self, client: MlflowClient):
                self._client = client
            def fit(self):
                for step in range(3):
                    self._client.log_metric("r", "k", 1.0, step=step)
        """,
        # a function defined before the import still sees it when called
        """
        def train():
            for step in range(3):
                mlflow.log_metric("k", 1.0, step=step)
        import mlflow
        """,
        # an import inside the function
        """
        def train():
            import mlflow as ml
            for step in range(3):
                ml.log_metric("k", 1.0, step=step)
        """,
    ],
)
def test_scoped_spellings_resolve(source: str) -> None:
    assert flagged(source)


@pytest.mark.parametrize(
    "source",
    [
        # custom logger, wandb, self.logger: not MLflow
        """
        import mlflow
        class Logger:
            def log_metric(self, k, v): pass
        logger = Logger()
        for step in range(3):
            logger.log_metric("k", step)
        """,
        """
        import mlflow, wandb
        for step in range(3):
            wandb.log_metric("k", step)
        """,
        """
        import mlflow
        class Trainer:
            def fit(self):
                for step in range(3):
                    self.logger.log_metric("k", step)
        """,
        # a parameter shadows the import
        """
        import mlflow
        def train(mlflow):
            for step in range(3):
                mlflow.log_metric("k", step)
        """,
        # a local assignment shadows the import
        """
        import mlflow
        def train():
            mlflow = make_logger()
            for step in range(3):
                mlflow.log_metric("k", step)
        """,
        # a redefinition shadows the imported name
        """
        from mlflow import log_metric
        def log_metric(key, value):
            print(key, value)
        for step in range(3):
            log_metric("k", step)
        """,
        # a loop variable shadows the client
        """
        from mlflow import MlflowClient
        client = MlflowClient()
        for client in loggers:
            client.log_metric("r", "k", 1)
        """,
        # same function names from elsewhere
        """
        import mlflow
        from mymetrics import log_metric
        for step in range(3):
            log_metric("k", step)
        """,
        """
        import mlflow
        from . import mlflow as local_mlflow
        for step in range(3):
            local_mlflow.log_metric("k", step)
        """,
        # an annotation that is not MlflowClient
        """
        import mlflow
        def train(client: "Logger"):
            for step in range(3):
                client.log_metric("r", "k", 1.0)
        """,
        # a class-level name is not visible in methods
        """
        import mlflow
        class T:
            mlflow = None
            def fit(self):
                pass
        mlflow = object()
        for step in range(3):
            mlflow.log_metric("k", 1)
        """,
    ],
)
def test_not_mlflow(source: str) -> None:
    assert not flagged(source)


def test_comprehension_target_shadows_only_inside() -> None:
    source = """
    import mlflow
    [mlflow.log_metric("k", v) for mlflow in loggers]
    for step in range(3):
        mlflow.log_metric("k", step)
    """
    assert lines_flagged(source, "MLF101") == [5]
