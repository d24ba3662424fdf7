"""Curation stages and the dataset store they write to."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vidcot")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
