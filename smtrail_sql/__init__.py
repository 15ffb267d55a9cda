"""smtrail-sql: SageMaker Experiments metrics from CloudTrail, as tables you can query."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("smtrail-sql")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
