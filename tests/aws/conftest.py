"""A real moto server on 127.0.0.1 that boto3 and pyathena reach over HTTP through ``AWS_ENDPOINT_URL``.

Nothing of ours is patched: the code under test builds its clients from boto3's standard configuration, and
the environment (set per test with ``monkeypatch``) points that configuration at the server with fake
credentials.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``aws`` need a real account: they run only with ``--run-aws`` (an option the root conftest
    registers, since pytest reads options before it finds this file) or ``SMTRAIL_RUN_AWS=1``."""
    import os

    if config.getoption("--run-aws", default=False) or os.environ.get("SMTRAIL_RUN_AWS") == "1":
        return
    skip = pytest.mark.skip(reason="needs a real AWS account: opt in with --run-aws or SMTRAIL_RUN_AWS=1")
    for item in items:
        if item.get_closest_marker("aws") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns failures
    server.start()
    host, port = server.get_host_and_port()
    _install_failure_shim()
    _install_bucket_policy_shim()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class MotoAws:
    """The moto server of one test, with moto's own seeding endpoints (``/moto-api/...``)."""

    endpoint: str
    region: str = REGION
    account: str = ACCOUNT
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        import boto3

        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region)
        return self._clients[service]

    def moto_api(self, path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:
            assert response.status in (200, 201), response.status

    def seed_athena_results(self, *results: dict[str, Any]) -> None:
        """Queue result sets: each query started next takes the next one (moto's documented seeding)."""
        self.moto_api(
            "static/athena/query-results",
            {"account_id": self.account, "region": self.region, "results": list(results)},
        )

    def hold_athena_queries(self, polls: int) -> None:
        """Keep each query in every state for ``polls`` GetQueryExecution calls (moto's state manager)."""
        self.moto_api(
            "state-manager/set-transition",
            {"model_name": "athena::execution", "transition": {"progression": "manual", "times": polls}},
        )

    def fail_next_athena_query(self, reason: str, category: int = 2, retryable: bool = False, after: int = 0) -> None:
        """Make a query end FAILED with Athena's reason: the next one, or the one after ``after`` others
        (see :func:`_install_failure_shim`)."""
        _PENDING_FAILURES.append({"reason": reason, "category": category, "retryable": retryable, "skip": after})

    def throttle_athena(self, times: int) -> None:
        """Answer the next ``times`` GetQueryExecution calls with Athena's ThrottlingException (400)."""
        _THROTTLE["left"] = times

    def require_cloudtrail_bucket_policy(self, bucket: str) -> None:
        """Make CreateTrail/UpdateTrail to ``bucket`` fail as CloudTrail does while the bucket's policy does not
        let ``cloudtrail.amazonaws.com`` write (see :func:`_install_bucket_policy_shim`)."""
        _POLICY_BUCKETS.add(bucket)

    @property
    def throttled_calls_left(self) -> int:
        return _THROTTLE["left"]

    def athena_queries(self) -> list[str]:
        """Every SQL text that reached the Athena endpoint, in order."""
        athena = self.client("athena")
        ids = athena.list_query_executions()["QueryExecutionIds"]
        return [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]

    def athena_state(self, query_id: str) -> str:
        return str(
            self.client("athena").get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"]
        )


@pytest.fixture
def moto(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MotoAws]:
    """A fresh moto (state reset) with the environment of a user whose AWS config points at it."""
    import os

    for name in list(os.environ):
        if name.startswith(("AWS_", "SMTRAIL_")) and name != "SMTRAIL_CACHE_DIR":
            monkeypatch.delenv(name)
    missing = tmp_path / "no-aws-config"
    monkeypatch.setenv("SMTRAIL_CONFIG_FILE", str(tmp_path / "no-smtrail-config.toml"))  # nor the user's profiles
    monkeypatch.setenv("AWS_CONFIG_FILE", str(missing))  # never read a developer's real profiles
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws = MotoAws(moto_endpoint)
    aws.moto_api("reset", {})
    aws.moto_api("state-manager/unset-transition", {"model_name": "athena::execution"})
    _PENDING_FAILURES.clear()
    _THROTTLE["left"] = 0
    _POLICY_BUCKETS.clear()
    yield aws
    _PENDING_FAILURES.clear()
    _THROTTLE["left"] = 0
    _POLICY_BUCKETS.clear()


# moto 5.2.5 never ends an Athena query FAILED, never returns a StateChangeReason and never throttles.
# Upstream moto adds ``Execution.fail_at(state, reason)`` (getmoto/moto tests/test_core/test_orchestration.py),
# not yet released; until then this shim gives the in-process server the same abilities. It changes moto's
# answers only, so the real boto3/pyathena clients and our engine see a FAILED (or throttled) query exactly as
# Athena reports one.
_PENDING_FAILURES: list[dict[str, Any]] = []
_FAILURES: dict[str, dict[str, Any]] = {}
_THROTTLE = {"left": 0}


def _install_failure_shim() -> None:
    from moto.athena.models import athena_backends
    from moto.athena.responses import AthenaResponse

    if getattr(AthenaResponse, "_smtrail_shim", False):
        return
    original_start = AthenaResponse.start_query_execution
    original_get = AthenaResponse.get_query_execution

    def start_query_execution(self: AthenaResponse) -> Any:
        answer = original_start(self)
        if _PENDING_FAILURES and isinstance(answer, str):
            if _PENDING_FAILURES[0]["skip"] > 0:
                _PENDING_FAILURES[0]["skip"] -= 1
            else:
                _FAILURES[json.loads(answer)["QueryExecutionId"]] = _PENDING_FAILURES.pop(0)
        return answer

    def get_query_execution(self: AthenaResponse) -> Any:
        if _THROTTLE["left"] > 0:
            _THROTTLE["left"] -= 1
            return json.dumps({"__type": "ThrottlingException", "Message": "Rate exceeded"}), {"status": 400}
        answer = json.loads(original_get(self))
        execution = answer["QueryExecution"]
        failure = _FAILURES.get(execution["QueryExecutionId"])
        if failure and execution["Status"]["State"] in ("RUNNING", "SUCCEEDED"):
            backend = athena_backends[self.current_account][self.region]
            backend.executions[execution["QueryExecutionId"]].status = "FAILED"
            execution["Status"]["State"] = "FAILED"
        if failure and execution["Status"]["State"] == "FAILED":
            execution["Status"]["StateChangeReason"] = failure["reason"]
            execution["Status"]["AthenaError"] = {
                "ErrorCategory": failure["category"],
                "ErrorType": 1006,
                "Retryable": failure["retryable"],
                "ErrorMessage": failure["reason"],
            }
        return json.dumps(answer)

    AthenaResponse.start_query_execution = start_query_execution  # type: ignore[method-assign]
    AthenaResponse.get_query_execution = get_query_execution  # type: ignore[method-assign]
    AthenaResponse._smtrail_shim = True  # type: ignore[attr-defined]


# moto 5.2.5 creates a trail whatever the bucket's policy says; CloudTrail answers
# InsufficientS3BucketPolicyException unless the policy lets cloudtrail.amazonaws.com write (CloudTrail User
# Guide, "Amazon S3 bucket policy for CloudTrail"). For the buckets a test names, this shim gives the server
# that answer while the policy lacks a PutObject statement for the service; like the Athena shim, it changes
# moto's answers only.
_POLICY_BUCKETS: set[str] = set()


def _install_bucket_policy_shim() -> None:
    from moto.cloudtrail.responses import CloudTrailResponse
    from moto.s3.models import s3_backends

    if getattr(CloudTrailResponse, "_smtrail_shim", False):
        return
    originals = {"create_trail": CloudTrailResponse.create_trail, "update_trail": CloudTrailResponse.update_trail}

    def guarded(action: str) -> Any:
        def answer(self: CloudTrailResponse) -> Any:
            bucket = self._get_param("S3BucketName")
            if bucket in _POLICY_BUCKETS:
                policy = s3_backends[self.current_account]["aws"].get_bucket(bucket).policy or b""
                statements = json.loads(policy or b"{}").get("Statement", [])
                if not any(
                    st.get("Effect") == "Allow"
                    and st.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}
                    and st.get("Action") == "s3:PutObject"
                    for st in statements
                ):
                    message = f"Incorrect S3 bucket policy is detected for bucket: {bucket}"
                    body = {"__type": "InsufficientS3BucketPolicyException", "message": message}
                    return json.dumps(body), {"status": 400}
            return originals[action](self)

        return answer

    CloudTrailResponse.create_trail = guarded("create_trail")  # type: ignore[method-assign]
    CloudTrailResponse.update_trail = guarded("update_trail")  # type: ignore[method-assign]
    CloudTrailResponse._smtrail_shim = True  # type: ignore[attr-defined]


def play_catalog(aws: MotoAws, already: int = 0) -> int:
    """Do to moto's Glue catalog what Athena's DDL does to the real one (moto's Athena runs no SQL).

    Reads the statements that reached the Athena endpoint (from index ``already``) and applies CREATE
    DATABASE, CREATE TABLE (with its TBLPROPERTIES) and ALTER TABLE ... SET TBLPROPERTIES to Glue, so that the
    next read of the deployed version sees what our own SQL recorded; views become Glue tables of type
    VIRTUAL_VIEW, as Athena's are. Returns the new count of statements.
    """
    import sqlglot
    from sqlglot import exp

    glue = aws.client("glue")
    queries = aws.athena_queries()
    for sql in queries[already:]:
        tree = sqlglot.parse_one(sql, read="athena")
        props = {
            p.name: p.args["value"].name
            for p in tree.find_all(exp.Property)
            if isinstance(p.this, exp.Literal) and isinstance(p.args.get("value"), exp.Literal)
        }
        if isinstance(tree, exp.Create) and tree.kind in ("DATABASE", "SCHEMA"):
            try:
                glue.create_database(DatabaseInput={"Name": tree.this.name})
            except glue.exceptions.AlreadyExistsException:
                pass
        elif isinstance(tree, exp.Create) and tree.kind in ("TABLE", "VIEW"):
            table = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            kind = "EXTERNAL_TABLE" if tree.kind == "TABLE" else "VIRTUAL_VIEW"
            try:
                glue.create_table(
                    DatabaseName=table.db,
                    TableInput={"Name": table.name, "TableType": kind, "Parameters": props},
                )
            except glue.exceptions.AlreadyExistsException:
                pass
        elif isinstance(tree, exp.Alter):
            table = tree.this
            current = glue.get_table(DatabaseName=table.db, Name=table.name)["Table"]
            parameters = {**current.get("Parameters", {}), **props}
            glue.update_table(
                DatabaseName=table.db,
                TableInput={"Name": table.name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters},
            )
    return len(queries)
