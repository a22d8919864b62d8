"""A classic training loop: epochs of mini-batches, logging the loss of every batch."""

import random

import mlflow

EPOCHS = 4
BATCHES_PER_EPOCH = 6
rng = random.Random(1234)
data = [rng.uniform(-1.0, 1.0) for _ in range(EPOCHS * BATCHES_PER_EPOCH)]


def train_batch(epoch, batch):
    noise = data[epoch * BATCHES_PER_EPOCH + batch] / 50
    return round(1.0 / (1 + epoch + batch / BATCHES_PER_EPOCH) + noise, 6)


with mlflow.start_run(run_name="epochs-x-batches"):
    mlflow.log_param("epochs", EPOCHS)
    global_step = 0
    for epoch in range(EPOCHS):
        losses = []
        for batch in range(BATCHES_PER_EPOCH):
            loss = train_batch(epoch, batch)
            losses.append(loss)
            mlflow.log_metric("batch_loss", loss, step=global_step)
            global_step += 1
        epoch_loss = round(sum(losses) / len(losses), 6)
        mlflow.log_metric("epoch_loss", epoch_loss, step=epoch)
        mlflow.log_metric("learning_rate", 0.1 * 0.5**epoch, step=epoch)
    mlflow.log_metric("final_loss", epoch_loss)
