"""A synthetic customer world for demos and tests: never evidence that a model is good.

It writes tables that follow the data contract, plus the hidden ground truth. It sits beside the
stages and imports only ``winback.common``.
"""

from winback.synthetic.world import SyntheticWorld, simulate, write_world

__all__ = ["SyntheticWorld", "simulate", "write_world"]
