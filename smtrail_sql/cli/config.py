"""``config``: the remembered settings, where each value comes from, and writing them (``config set``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from smtrail_sql.cli.app import CONFIG_PROFILE_KEY, app
from smtrail_sql.cli.options import (
    DEFAULT_VIEW,
    Database,
    DataCatalog,
    DeliveryLag,
    Engine,
    Logs,
    MaxScan,
    OptionalAccounts,
    OptionalBucket,
    OptionalRegions,
    OrgId,
    OutputLocation,
    Prefix,
    Profile,
    Region,
    StartDate,
    StoreLocation,
    Table,
    View,
    Workgroup,
)
from smtrail_sql.settings import DEFAULT_CATALOG, DEFAULT_DATABASE, DEFAULT_TABLE

config_app = typer.Typer(
    name="config", no_args_is_help=False, rich_markup_mode=None,
    help="The remembered settings: named profiles in a TOML file (smtrail-sql config show lists them).",
)
app.add_typer(config_app)

ConfigProfile = Annotated[str | None, typer.Option(
    "--config-profile", metavar="NAME", help="The profile to write (default: the one smtrail-sql --config-profile "
    "or SMTRAIL_CONFIG_PROFILE chose, else [default]).")]
Key = Annotated[str, typer.Argument(help="The setting, as `smtrail-sql config show` names it (e.g. bucket, "
                                         "accounts, aws_profile).")]
Deployed = Annotated[bool, typer.Option("--deployed", help="Also read the deployed table's log location and "
                                        "partitions (Glue GetTable: free, needs AWS credentials).")]


@config_app.callback(invoke_without_command=True)
def _config(ctx: typer.Context) -> None:
    """Without a command: the same as `config show`."""
    if ctx.invoked_subcommand is None:
        _show(ctx, {}, deployed=False)


@config_app.command("show")
def show_config(
    ctx: typer.Context,
    bucket: OptionalBucket = None,
    prefix: Prefix = None,
    org_id: OrgId = None,
    accounts: OptionalAccounts = None,
    regions: OptionalRegions = None,
    start_date: StartDate = None,
    database: Database = DEFAULT_DATABASE,
    table: Table = DEFAULT_TABLE,
    view: View = DEFAULT_VIEW,
    catalog: DataCatalog = DEFAULT_CATALOG,
    store_location: StoreLocation = None,
    workgroup: Workgroup = None,
    output_location: OutputLocation = None,
    region: Region = None,
    profile: Profile = None,
    engine: Engine = None,
    logs: Logs = None,
    delivery_lag: DeliveryLag = None,
    max_scan: MaxScan = None,
    deployed: Deployed = False,
) -> None:
    """Show every setting, its value and where it came from (flag, environment, profile NAME, deployed table,
    default), and the config file's path. Takes the options the other commands take, to show what they would
    get.

    \b
    Example: smtrail-sql config show
    Example: smtrail-sql --config-profile prod config show --deployed
    """
    given = {name: value for name, value in ctx.params.items()
             if name != "deployed" and _source(ctx, name) == "COMMANDLINE"}
    _show(ctx, {name: str(value) for name, value in given.items()}, deployed=deployed)


def _source(ctx: typer.Context, name: str) -> str:
    source = ctx.get_parameter_source(name)
    return getattr(source, "name", "")


def _show(ctx: typer.Context, flags: dict[str, str], *, deployed: bool) -> None:
    import os

    from smtrail_sql.config import ConfigFile, built_in_defaults, resolve

    chosen = ctx.meta.get(CONFIG_PROFILE_KEY)
    config = ConfigFile.load()
    profile = config.profile(chosen)
    resolved = resolve(flags, os.environ, profile, chosen, None, built_in_defaults())
    table = _table_settings({r.setting.param: r.value for r in resolved}) if deployed else None
    if table is not None:
        resolved = resolve(flags, os.environ, profile, chosen, table, built_in_defaults())
    state = "" if config.path.is_file() else " (does not exist: smtrail-sql config set writes it)"
    typer.echo(f"config file: {config.path}{state}")
    typer.echo(f"profiles: {', '.join(config.profiles) or 'none'}; using {chosen or 'default'}")
    width = max(len(r.setting.key) for r in resolved)
    for item in resolved:
        value = "-" if item.value is None else item.value
        typer.echo(f"{item.setting.key:<{width}}  {value:<40} {item.source}")


def _table_settings(values: dict[str, Any]) -> dict[str, str]:
    """What the deployed table supplies (empty when there is none)."""
    from smtrail_sql.aws.session import make_session
    from smtrail_sql.deploy import DeployedTable
    from smtrail_sql.projection import read_projection
    from smtrail_sql.settings import validate_catalog, validate_identifier

    ref = DeployedTable(validate_identifier("database", values["database"]),
                        validate_identifier("table", values["table"]), validate_catalog(values["catalog"]))
    found = read_projection(make_session(values["profile"], values["region"]), ref)
    return found.settings() if found is not None else {}


@config_app.command("set")
def set_config(
    ctx: typer.Context,
    key: Key,
    value: Annotated[str, typer.Argument(help="Its value (accounts and regions: comma-separated).")],
    config_profile: ConfigProfile = None,
) -> None:
    """Remember a setting in a profile of the config file (created if missing); the value is checked first.

    \b
    Example: smtrail-sql config set bucket my-trail-bucket
    Example: smtrail-sql config set regions us-east-1,eu-west-1 --config-profile prod
    """
    from smtrail_sql.config import config_path, set_value, setting

    name = config_profile or ctx.meta.get(CONFIG_PROFILE_KEY) or "default"
    set_value(config_path(), name, key, value)
    typer.echo(f"{setting(key).key} = {value} in [{name}] of {config_path()}")


@config_app.command("unset")
def unset_config(ctx: typer.Context, key: Key, config_profile: ConfigProfile = None) -> None:
    """Forget a setting of a profile of the config file.

    \b
    Example: smtrail-sql config unset prefix
    """
    from smtrail_sql.config import config_path, set_value, setting

    name = config_profile or ctx.meta.get(CONFIG_PROFILE_KEY) or "default"
    set_value(config_path(), name, key, None)
    typer.echo(f"{setting(key).key} removed from [{name}] of {config_path()}")
