"""Training: time splits, LightGBM models, calibration, baselines, metrics, tracking, registry.

Built on the features stage; imports nothing above it. Entry points: :func:`training.run.
train_and_register` (one run end to end: snapshots → models → MLflow run → registry gate) and
:func:`training.pipeline.train_models` (the models and their test figures, without MLflow).
"""
