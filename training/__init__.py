"""Training: time splits, LightGBM models, calibration, baselines and metrics.

Built on the features stage; imports nothing above it. The ``winback train`` pipeline that
composes these parts, MLflow tracking and the registry come next.
"""
