"""Which calls count as MLflow's: the resolver, probed through MLF101 (log_metric in a loop)."""

from __future__ import annotations

import textwrap

import pytest
from conftest import lines_flagged
from test_elision import assert_same, padded

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


# --- classes and clients as real integration code holds them (#13) -------------------------
@pytest.mark.parametrize(
    "source",
    [
        # assigned in a method defined after the one that uses it
        """
        import mlflow
        class Tracker:
            def fit(self):
                for step in range(3):
                    self._client.log_metric(self.run_id, "k", 1.0, step=step)
            def setup(self):
                self._client = mlflow.tracking.MlflowClient()
        """,
        # first None, assigned lazily in another method
        """
        from mlflow import MlflowClient
        class Tracker:
            def __init__(self, uri):
                self.uri = uri
                self.client = None
            def connect(self):
                if self.client is None:
                    self.client = MlflowClient(tracking_uri=self.uri)
            def fit(self):
                for step in range(3):
                    self.client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
        # a lazy property with a local import, and a cached_property
        """
        import mlflow
        class Tracker:
            def __init__(self):
                self._client = None
            @property
            def client(self):
                if self._client is None:
                    from mlflow.tracking import MlflowClient
                    self._client = MlflowClient()
                return self._client
            def fit(self):
                for step in range(3):
                    self.client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
        """
        import functools
        import mlflow
        class Tracker:
            @functools.cached_property
            def client(self):
                return mlflow.MlflowClient()
            def fit(self):
                for step in range(3):
                    self.client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
        # a property known by its annotation only, in each spelling
        """
        from typing import Optional
        from mlflow import MlflowClient
        class Tracker:
            @property
            def client(self) -> Optional[MlflowClient]:
                return self._make()
            def fit(self):
                for step in range(3):
                    self.client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
        """
        from mlflow import MlflowClient
        class Tracker:
            @property
            def client(self) -> "MlflowClient | None":
                return self._make()
            def fit(self):
                for step in range(3):
                    self.client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
        # a function of the module that returns one, called where the client is used
        """
        import mlflow
        def get_client(uri):
            return mlflow.MlflowClient(uri)
        def train(uri):
            client = get_client(uri)
            for step in range(3):
                client.log_metric("r", "k", 1.0, step=step)
        """,
        """
        import mlflow
        def train(uri):
            client = make_client()
            for step in range(3):
                client.log_metric("r", "k", 1.0, step=step)
        def make_client() -> "mlflow.MlflowClient":
            return build()
        """,
        # a method that returns one, called on self
        """
        from mlflow.tracking import MlflowClient
        class Exporter:
            def _get_client(self):
                return MlflowClient(self.uri)
            def run(self):
                client = self._get_client()
                for step in range(3):
                    client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
        # attributes annotated in the class body or on assignment
        """
        from typing import Optional
        import mlflow
        class Tracker:
            def __init__(self):
                self.client: Optional[mlflow.MlflowClient] = None
            def fit(self):
                for step in range(3):
                    self.client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
        # the constructor's other spellings
        """
        from mlflow import tracking
        client = tracking.MlflowClient()
        for step in range(3):
            client.log_metric("r", "k", 1.0, step=step)
        """,
        """
        import mlflow.client as mc
        client = mc.MlflowClient()
        for step in range(3):
            client.log_metric("r", "k", 1.0, step=step)
        """,
        # a parameter that defaults to a new client
        """
        from mlflow import MlflowClient
        class Tracker:
            def __init__(self, client=None):
                self.client = client or MlflowClient()
            def fit(self):
                for step in range(3):
                    self.client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
        """
        from mlflow import MlflowClient
        class Tracker:
            def __init__(self, client=None):
                self.client = client if client is not None else MlflowClient()
            def fit(self):
                for step in range(3):
                    self.client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
        # the mlflow module kept on an object
        """
        class Logger:
            def __init__(self):
                import mlflow
                self._mlflow = mlflow
            def log(self, values):
                for step, value in enumerate(values):
                    self._mlflow.log_metric("v", value, step=step)
        """,
        """
        import importlib
        class Logger:
            def __init__(self):
                self._ml = importlib.import_module("mlflow")
            def log(self, values):
                for step, value in enumerate(values):
                    self._ml.log_metric("v", value, step=step)
        """,
        """
        def _mlflow():
            import mlflow
            return mlflow
        class Logger:
            def __init__(self):
                self.backend = _mlflow()
            def log(self, values):
                for step, value in enumerate(values):
                    self.backend.log_metric("v", value, step=step)
        """,
        # TensorFlow's and ludwig's lazy loader: the module's name is the last argument
        """
        from ludwig.utils.lazy import LazyLoader
        mlflow = LazyLoader("mlflow", globals(), "mlflow")
        def upload(paths):
            for path in paths:
                mlflow.log_metric("size", 1.0, step=len(path))
        """,
        # a subclass of a class of the same module that holds the client
        """
        from mlflow import MlflowClient
        class Base:
            def __init__(self):
                self.client = MlflowClient()
        class Trainer(Base):
            def fit(self):
                for step in range(3):
                    self.client.log_metric(self.run_id, "k", 1.0, step=step)
        """,
    ],
)
def test_clients_and_modules_held_by_classes_resolve(source: str) -> None:
    assert flagged(source)
    # eliding what cannot matter finds the same, padded with definitions that cannot
    assert assert_same(padded(textwrap.dedent(source)))


@pytest.mark.parametrize(
    "source",
    [
        # another tracker's look-alike calls, in a file that also uses MLflow
        """
        import mlflow
        from comet_ml import Experiment
        class CometTracker:
            def __init__(self):
                self.experiment = Experiment()
            def fit(self):
                mlflow.set_tag("backend", "comet")
                for step in range(3):
                    self.experiment.log_metric("k", 1.0, step=step)
        """,
        # the same attribute name holds MLflow in one class and something else in another
        """
        import mlflow
        import neptune
        class MlflowTracker:
            def __init__(self):
                self.client = mlflow.MlflowClient()
        class NeptuneTracker:
            def __init__(self):
                self.client = neptune.init_run()
            def fit(self):
                for step in range(3):
                    self.client.log_metric("k", 1.0, step=step)
        """,
        # a project's own logger with MLflow-like methods
        """
        import mlflow
        class Logger:
            def log_metric(self, key, value, step=None):
                print(key, value, step)
        class Trainer:
            def __init__(self):
                self.logger = Logger()
            def fit(self):
                for step in range(3):
                    self.logger.log_metric("k", 1.0, step=step)
        """,
        # a property or helper that returns something else
        """
        import mlflow
        import wandb
        class Tracker:
            @property
            def run(self):
                return wandb.init()
            def fit(self):
                for step in range(3):
                    self.run.log_metric("k", 1.0, step=step)
        """,
        # a logger named after mlflow is not the module
        """
        import logging
        import mlflow
        log = logging.getLogger("mlflow")
        for step in range(3):
            log.log_metric("k", step)
        """,
        # a setter does not change what the property returns
        """
        import mlflow
        class Tracker:
            @property
            def client(self):
                return self._backend
            @client.setter
            def client(self, value):
                self._backend = value
            def fit(self):
                for step in range(3):
                    self.client.log_metric("r", "k", 1.0, step=step)
        """,
    ],
)
def test_look_alikes_held_by_classes_are_not_mlflow(source: str) -> None:
    assert not flagged(source)
