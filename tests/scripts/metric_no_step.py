"""Anneal a temperature and log it every iteration, without a step."""

import mlflow

temperature = 10.0

with mlflow.start_run(run_name="annealing"):
    mlflow.log_param("cooling", 0.7)
    for iteration in range(6):
        temperature = round(temperature * 0.7, 6)
        energy = round(100 / (1 + iteration) + temperature, 6)
        mlflow.log_metric("temperature", temperature)
        mlflow.log_metric("energy", energy)
    mlflow.log_metric("final_energy", energy)
