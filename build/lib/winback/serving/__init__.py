"""Serving: scores with reasons, the offer policy, win-back lists, drift, evaluation, the API.

Built on training and features; imports nothing above it. Entry points:
:func:`serving.model.load_model`, :func:`serving.scoring.score`, :func:`serving.lists.make_list`,
:func:`serving.evaluate.evaluate_list`, :func:`serving.drift.drift_report` and
:func:`serving.api.create_app`.
"""
