"""boto3's own endpoint and profile configuration is what reaches the clients (no flags of ours)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtrail_sql.aws.estimate import estimate_scan
from smtrail_sql.aws.session import make_client, make_session
from smtrail_sql.engines import EngineSettings
from smtrail_sql.engines.athena import AthenaEngine
from smtrail_sql.errors import EngineError
from smtrail_sql.settings import LogLocation
from smtrail_sql.window import TimeWindow
from tests.aws.conftest import MotoAws


def test_per_service_endpoints_are_honoured(moto: MotoAws, monkeypatch: pytest.MonkeyPatch) -> None:
    moto.client("s3").create_bucket(Bucket="trail-logs")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", moto.endpoint)
    window = TimeWindow.parse(since="2024-05-01", until="2024-05-02")
    s3 = make_client(make_session(), "s3")
    assert s3.meta.endpoint_url == moto.endpoint
    assert estimate_scan(s3, LogLocation.create("trail-logs"), ["111111111111"], ["us-east-1"], window).files == 0
    result = AthenaEngine.from_settings(EngineSettings(poll_interval=0.01)).run_sql("SELECT 1")
    assert result.stats is not None and moto.athena_queries() == ["SELECT 1"]


def test_a_profile_gives_region_and_endpoint(moto: MotoAws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(f"[profile trail-reader]\nregion = eu-west-1\nendpoint_url = {moto.endpoint}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # boto3 ranks it above the profile's region
    session = make_session(profile="trail-reader")
    assert session.region_name == "eu-west-1"
    assert make_client(session, "s3").meta.endpoint_url == moto.endpoint


def test_an_unknown_profile_is_a_clear_error(moto: MotoAws) -> None:
    with pytest.raises(EngineError, match="AWS profile 'nobody' not found"):
        make_session(profile="nobody")


def test_aws_region_is_honoured_like_the_other_sdks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert make_session().region_name == "eu-west-3"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")  # boto3's own variable keeps precedence
    assert make_session().region_name == "us-west-2"
    assert make_session(region="ap-south-1").region_name == "ap-south-1"
