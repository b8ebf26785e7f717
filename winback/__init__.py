"""winback: the shell (CLI and settings) that composes the features, training and serving stages.

Nothing imports this package; it imports the stages below it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("winback")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
