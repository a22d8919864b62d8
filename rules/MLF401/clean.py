"""Worker processes log to a tracking server, not to a sqlite file."""

from multiprocessing import Pool

import mlflow


def train(seed):
    with mlflow.start_run(run_name=f"mlf401-clean-seed-{seed}"):
        mlflow.log_param("seed", seed)


if __name__ == "__main__":
    mlflow.set_tracking_uri("http://127.0.0.1:5000")
    with Pool(4) as pool:
        pool.map(train, range(8))
