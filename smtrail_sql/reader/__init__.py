"""Read CloudTrail log files into the rows of the two relations (see :mod:`smtrail_sql.schema`)."""

from smtrail_sql.reader.layout import SKIP_DESCRIPTIONS, Discovery, LogFile, discover_log_files
from smtrail_sql.reader.pipeline import ReadProgress, ReadResult, read_log_files

__all__ = ["SKIP_DESCRIPTIONS", "Discovery", "LogFile", "ReadProgress", "ReadResult", "discover_log_files",
           "read_log_files"]
