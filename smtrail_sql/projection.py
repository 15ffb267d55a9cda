"""What a deployed table says about its logs, and what it takes to make it follow new settings.

The CloudTrail table projects its partitions from its properties (version 1 writes them): the accounts and
regions (``projection.account_id.values``, ``projection.region.values``), the first delivery day
(``projection.day.range``) and the log location (``storage.location.template``). Read back through the data
catalog's API (Glue ``GetTable``: free), they spare ``estimate``, ``sync`` and ``migrate`` the bucket, accounts
and regions; compared with a deployment's settings, they say what ``create-table`` must change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Final

from smtrail_sql.ddl import projection_properties
from smtrail_sql.errors import MissingSettingError
from smtrail_sql.settings import DEFAULT_CATALOG, TableSettings

if TYPE_CHECKING:
    from smtrail_sql.deploy import TableRef

_NOT_FOUND = ("EntityNotFoundException", "MetadataException", "ResourceNotFoundException")
_TEMPLATE = re.compile(r"^s3://(?P<bucket>[^/]+)/(?:(?P<prefix>.+?)/)?AWSLogs/(?:(?P<org_id>o-[a-z0-9]+)/)?"
                       r"\$\{account_id\}/CloudTrail/\$\{region\}/\$\{day\}$")
#: The settings a deployed table can supply, and the names its changes are reported under.
LOCATION_SETTINGS: Final = ("bucket", "prefix", "org_id", "accounts", "regions", "start_date")
_CHANGE_NAMES: Final = {"storage.location.template": "log location", "projection.account_id.values": "accounts",
                        "projection.region.values": "regions", "projection.day.range": "start date"}


def read_table_parameters(session: Any, database: str, name: str, catalog: str = DEFAULT_CATALOG
                          ) -> dict[str, str] | None:
    """A table's or view's properties from the catalog (``None`` when it does not exist): Glue ``GetTable``
    for ``AwsDataCatalog`` (Athena keeps TBLPROPERTIES as its Parameters), Athena ``GetTableMetadata`` else."""
    import botocore.exceptions

    from smtrail_sql.aws.session import aws_error, make_client

    try:
        if catalog == DEFAULT_CATALOG:
            table = make_client(session, "glue").get_table(DatabaseName=database, Name=name)
            return dict(table["Table"].get("Parameters") or {})
        metadata = make_client(session, "athena").get_table_metadata(
            CatalogName=catalog, DatabaseName=database, TableName=name)
        return dict(metadata["TableMetadata"].get("Parameters") or {})
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        code = error.response.get("Error", {}).get("Code", "") if hasattr(error, "response") else ""
        if code in _NOT_FOUND:
            return None
        raise aws_error(f"read table {database}.{name} from catalog {catalog}", error) from None


@dataclass(frozen=True)
class TableProjection:
    """The log location and partitions a deployed table projects (``None``: the property is missing).

    >>> TableProjection.parse({"storage.location.template":
    ...     "s3://trail-logs/audit/AWSLogs/${account_id}/CloudTrail/${region}/${day}",
    ...     "projection.account_id.values": "111111111111", "projection.day.range": "2024/01/01,NOW"}).settings()
    {'bucket': 'trail-logs', 'prefix': 'audit', 'accounts': '111111111111', 'start_date': '2024-01-01'}
    """

    bucket: str | None = None
    prefix: str | None = None
    org_id: str | None = None
    accounts: str | None = None
    regions: str | None = None
    start_date: date | None = None

    @classmethod
    def parse(cls, parameters: Mapping[str, str]) -> TableProjection:
        """Read the projection's properties; one that is missing or not ours is left out."""
        found: dict[str, Any] = {}
        template = _TEMPLATE.match(parameters.get("storage.location.template", ""))
        if template:
            found.update({k: v for k, v in template.groupdict().items() if v})
        for key, name in (("accounts", "projection.account_id.values"), ("regions", "projection.region.values")):
            if parameters.get(name, "").strip():
                found[key] = parameters[name].strip()
        first = parameters.get("projection.day.range", "").split(",")[0].strip()
        try:
            found["start_date"] = date.fromisoformat(first.replace("/", "-"))
        except ValueError:
            pass
        return cls(**found)

    def settings(self) -> dict[str, str]:
        """What the table supplies, as setting key -> text (the ``deployed table`` layer of
        :func:`smtrail_sql.config.resolve`)."""
        values = {key: getattr(self, key) for key in LOCATION_SETTINGS}
        return {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in values.items() if v is not None}


def read_projection(session: Any, ref: TableRef) -> TableProjection | None:
    """The deployed table's projection; ``None`` when there is no table."""
    parameters = read_table_parameters(session, ref.database, ref.table, ref.catalog)
    return None if parameters is None else TableProjection.parse(parameters)


def fill_from_table(given: Mapping[str, str | None], table: TableProjection | None, where: str
                    ) -> dict[str, str | None]:
    """The location settings, each given one kept, each missing one (``None``) taken from the deployed table.

    The bucket, accounts and regions must come from somewhere: a missing one is a :class:`MissingSettingError`
    naming the table it could not be read from (``where``).

    >>> fill_from_table({"bucket": None, "accounts": "222222222222", "regions": None},
    ...                 TableProjection("trail-logs", accounts="111111111111", regions="us-east-1"), "smtrail.t")
    {'bucket': 'trail-logs', 'prefix': None, 'org_id': None, 'accounts': '222222222222', 'regions': 'us-east-1', \
'start_date': None}
    """
    supplied = table.settings() if table is not None else {}
    filled = {key: given.get(key) if given.get(key) is not None else supplied.get(key) for key in LOCATION_SETTINGS}
    for key in ("bucket", "accounts", "regions"):
        if filled[key] is None:
            state = "it has none" if table is not None else "there is no such table"
            raise MissingSettingError(key, f"(--{key}, SMTRAIL_{key.upper()} or the config file): it is not given "
                                      f"and the deployed table {where} cannot supply it ({state})")
    return filled


def needs_table(given: Mapping[str, str | None]) -> bool:
    """Whether the deployed table must be read: the bucket, accounts or regions are not given."""
    return any(given.get(key) is None for key in ("bucket", "accounts", "regions"))


@dataclass(frozen=True)
class PropertyChange:
    """One projection property that differs between the deployed table and the settings."""

    property: str
    before: str | None
    after: str

    def describe(self) -> str:
        """``accounts 111111111111 -> 111111111111,222222222222``."""
        return f"{_CHANGE_NAMES.get(self.property, self.property)} {self.before or '(none)'} -> {self.after}"


def projection_changes(parameters: Mapping[str, str], settings: TableSettings) -> list[PropertyChange]:
    """The projection properties the table must change to follow ``settings`` (none: it already does)."""
    return [PropertyChange(name, parameters.get(name), value) for name, value in projection_properties(settings).items()
            if parameters.get(name) != value]


def resolve_location(session: Any, ref: TableRef, given: Mapping[str, str | None], *, always: bool = False
                     ) -> dict[str, Any]:
    """The location settings: those given, the missing ones read back from the deployed table.

    The table is read (Glue ``GetTable``, free) when the bucket, accounts or regions are missing, or
    ``always`` (create-table and migrate: what is not given stays as deployed).
    """
    table = read_projection(session, ref) if always or needs_table(given) else None
    return fill_from_table(given, table, f"{ref.database}.{ref.table}")
