"""Train several seeds in worker processes, each logging to the local sqlite database."""

from multiprocessing import Pool

import mlflow


def train(seed):
    with mlflow.start_run(run_name=f"mlf401-seed-{seed}"):
        mlflow.log_param("seed", seed)
        mlflow.log_metric("loss", 1.0 / (seed + 1))


if __name__ == "__main__":
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    with Pool(4) as pool:
        pool.map(train, range(8))
