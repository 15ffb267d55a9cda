"""Opt-in checks against a real AWS account (``--run-aws`` or ``SMTRAIL_RUN_AWS=1``; skipped by default).

They use the environment's own credentials and settings (``SMTRAIL_WORKGROUP``, ``SMTRAIL_OUTPUT_LOCATION``,
``AWS_REGION``...), only read, and scan nothing billable beyond Athena's 10 MB minimum for one ``SELECT``.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from smtrail_sql.aws.session import make_session
from smtrail_sql.aws.trail import read_trails
from smtrail_sql.engines import EngineSettings
from smtrail_sql.engines.athena import AthenaEngine

pytestmark = pytest.mark.aws


def test_athena_returns_typed_rows() -> None:
    engine = AthenaEngine.from_settings(EngineSettings())
    result = engine.run_sql(
        "SELECT 1 AS one, 2.5E0 AS half, CAST(NULL AS VARCHAR) AS nothing, TIMESTAMP '2024-05-01 12:00:00' AS at"
    )
    assert result.rows == [(1, 2.5, None, datetime(2024, 5, 1, 12))]
    assert result.stats is not None and result.stats.query_id


def test_trails_can_be_read() -> None:
    for check in read_trails(make_session()):
        assert check.coverage in ("all", "some", "none")
