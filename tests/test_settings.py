"""Settings are validated before any SQL exists; an invalid one names the setting and what is valid."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from smtrail_sql.errors import SettingError
from smtrail_sql.settings import LogLocation, TableSettings

GOOD = {"bucket": "my-trail-bucket", "accounts": "123456789012", "regions": "us-east-1"}


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ({"bucket": "Bad_Bucket"}, "bucket"),
        ({"bucket": "ab"}, "bucket"),
        ({"bucket": "a..b"}, "bucket"),
        ({"bucket": "192.168.1.1"}, "bucket"),
        ({"bucket": "bucket'; DROP"}, "bucket"),
        ({"prefix": "a/../b"}, "prefix"),
        ({"prefix": "x'y"}, "prefix"),
        ({"prefix": "logs/AWSLogs"}, "prefix"),
        ({"org_id": "org-123"}, "org id"),
        ({"accounts": "12345"}, "account"),
        ({"accounts": "123456789012,abc"}, "account"),
        ({"accounts": ""}, "accounts"),
        ({"regions": "US-EAST-1"}, "region"),
        ({"regions": "us-east-1'"}, "region"),
        ({"database": "my-db"}, "database"),
        ({"database": "1db"}, "database"),
        ({"table": "t;drop"}, "table"),
        ({"view": "View"}, "view"),
        ({"catalog": "cat alog"}, "catalog"),
        ({"start_date": "yesterday"}, "start date"),
        ({"start_date": (date.today() + timedelta(days=30)).isoformat()}, "start date"),
    ],
)
def test_invalid_setting_is_named(override: dict[str, str], setting: str) -> None:
    with pytest.raises(SettingError) as error:
        TableSettings.create(**{**GOOD, **override})  # type: ignore[arg-type]
    assert error.value.setting == setting
    assert str(error.value).startswith(f"invalid {setting} ")


def test_valid_settings_are_normalised() -> None:
    settings = TableSettings.create(bucket="s3://my-trail-bucket/", prefix="/audit/", org_id="o-a1b2c3d4e5",
                                    accounts=["123456789012", "123456789012,210987654321"],
                                    regions="us-east-1, eu-west-1", start_date="2024/01/31")
    assert settings.location == LogLocation("my-trail-bucket", "audit", "o-a1b2c3d4e5")
    assert settings.accounts == ("123456789012", "210987654321")
    assert settings.regions == ("us-east-1", "eu-west-1")
    assert settings.start_date == date(2024, 1, 31)
    assert settings.calls_view == "sagemaker_metric_calls"


def test_log_location_keys() -> None:
    plain = LogLocation.create("bucket-1")
    assert plain.partition_prefix("123456789012", "us-east-1", date(2024, 5, 1)) == (
        "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/")
    org = LogLocation.create("bucket-1", prefix="p/q", org_id="o-a1b2c3d4e5")
    assert org.account_root("123456789012") == "p/q/AWSLogs/o-a1b2c3d4e5/123456789012/CloudTrail/"
