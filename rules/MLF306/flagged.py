"""Evaluate shards in a thread pool; each worker logs with the fluent API."""

from concurrent.futures import ThreadPoolExecutor

import mlflow


def evaluate_shard(shard):
    score = round(0.8 + shard / 100, 4)
    mlflow.log_metric(f"shard_{shard}_accuracy", score)
    return score


with mlflow.start_run(run_name="mlf306-flagged"):
    with ThreadPoolExecutor(max_workers=2) as pool:
        scores = list(pool.map(evaluate_shard, range(4)))
