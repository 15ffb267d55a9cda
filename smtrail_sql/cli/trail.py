"""check-trail: does CloudTrail log the metric events (and with what else), and the dedicated trail."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from smtrail_sql.aws.dedicated import DEFAULT_PREFIX, DEFAULT_TRAIL_NAME
from smtrail_sql.cli.app import EXIT_FAILURE, EXIT_USAGE, app, fail
from smtrail_sql.cli.options import Profile, Region


@app.command("check-trail")
def check_trail_command(
    trail: Annotated[str | None, typer.Option(help="Only this trail (name or ARN).")] = None,
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Add the selector to trails that lack it, keeping every existing selector, "
                     "and start a stopped trail (with --dedicated: create or fix the dedicated trail, after "
                     "confirmation)."),
    ] = False,
    all_data_events: Annotated[
        bool,
        typer.Option(
            "--all-trial-component-events",
            help="Select every data event on trial components, not only BatchPutMetrics.",
        ),
    ] = False,
    dedicated: Annotated[
        bool,
        typer.Option("--dedicated", help="Plan a trail that logs only BatchPutMetrics data events (no management "
                     "events) to a prefix of its own, so the table reads metric events only."),
    ] = False,
    bucket: Annotated[str | None, typer.Option(help="With --dedicated (required): the S3 bucket it writes to; "
                                                    "its policy must let CloudTrail write.")] = None,
    prefix: Annotated[str | None, typer.Option(help=f"With --dedicated: its key prefix above AWSLogs/ "
                                                    f"(default: {DEFAULT_PREFIX}; '' for none).")] = None,
    name: Annotated[str | None, typer.Option(help=f"With --dedicated: the trail's name (default: "
                                                  f"{DEFAULT_TRAIL_NAME}).")] = None,
    single_region: Annotated[bool, typer.Option("--single-region", help="With --dedicated: log the region of "
                                                "--region only (default: every region).")] = False,
    organization: Annotated[bool, typer.Option("--organization", help="With --dedicated: an organisation trail "
                                               "(run it from the management account).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --dedicated --apply: do not ask for "
                                      "confirmation.")] = False,
    region: Region = None,
    profile: Profile = None,
) -> None:
    """Say whether CloudTrail logs the BatchPutMetrics data events, with what else, where to, and how to fix it.

    Exit code 1 when no trail logs them (and --apply was not given); a stopped trail logs nothing. With
    --dedicated, plan (and with --apply create) a trail that logs only those events to its own prefix; it warns
    when another trail logs them too.

    \b
    Example: smtrail-sql check-trail --trail my-org-trail --apply
    Example: smtrail-sql check-trail --dedicated --bucket my-trail-bucket --apply
    """
    from smtrail_sql.aws.session import make_session

    dedicated_only = {"--bucket": bucket, "--prefix": prefix, "--name": name, "--single-region": single_region,
                      "--organization": organization}
    if not dedicated and any(v is not None and v is not False for v in dedicated_only.values()):
        given = [option for option, value in dedicated_only.items() if value is not None and value is not False]
        raise fail(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} only with --dedicated", EXIT_USAGE)
    if dedicated:
        if trail or all_data_events:
            raise fail("--dedicated plans its own trail (name it with --name) that logs BatchPutMetrics only: "
                       "it does not go with --trail or --all-trial-component-events", EXIT_USAGE)
        _dedicated(make_session(profile, region), apply=apply, yes=yes, bucket=bucket, prefix=prefix, name=name,
                   multi_region=not single_region, organization=organization)
        return
    _check(make_session(profile, region), trail, apply, all_data_events)


def _check(session: Any, trail: str | None, apply: bool, all_data_events: bool) -> None:
    """Report every trail (or one); with ``apply``, add the metrics selector to those that lack it and start
    those that are stopped."""
    from smtrail_sql.aws.trail import apply_metrics_selector, read_trails, start_logging

    checks = read_trails(session, trail)
    if not checks:
        typer.echo(f"no CloudTrail trail in region {session.region_name}. Either let smtrail-sql create one that "
                   "logs the metric events only (the cheapest; a plan first, then --apply):")
        typer.echo("  smtrail-sql check-trail --dedicated --bucket BUCKET --apply")
        typer.echo("or create a trail yourself (multi-region, delivering to S3) with this advanced event selector:")
        _print_selector(all_data_events)
        raise fail(f"no trail in region {session.region_name} logs BatchPutMetrics data events"
                   + (" (--apply changes existing trails only: use --dedicated --apply)" if apply else ""))
    for check in checks:
        for line in check.describe():
            typer.echo(line)
        if check.logs_metrics:
            continue
        if apply:
            result = apply_metrics_selector(session, check, only_batch_put_metrics=not all_data_events)
            if result.changed:
                typer.echo(
                    f"  applied: trail {check.name} now has {len(result.after)} advanced selectors "
                    "(every existing one kept)"
                )
            if start_logging(session, check):
                also = f", {', '.join(check.other_traffic)} included" if check.other_traffic else ""
                typer.echo(f"  started: trail {check.name} is logging again (everything its selectors "
                           f"select{also})")
        elif check.coverage != "all":
            typer.echo("  advanced event selector to add (or re-run with --apply):")
            _print_selector(all_data_events)
    if not apply and not any(c.logs_metrics for c in checks):
        raise typer.Exit(1)


def _print_selector(all_data_events: bool) -> None:
    from smtrail_sql.aws.trail import metrics_selector

    selector = json.dumps(metrics_selector(not all_data_events), indent=2)
    typer.echo("\n".join("    " + line for line in selector.splitlines()))


def _dedicated(session: Any, *, apply: bool, yes: bool, bucket: str | None, prefix: str | None, name: str | None,
               multi_region: bool, organization: bool) -> None:
    """Plan the dedicated trail, print the plan and the create-table line; with ``apply``, confirm and make it."""
    from smtrail_sql.aws.dedicated import DedicatedTrail, apply_dedicated_plan, plan_dedicated_trail
    from smtrail_sql.errors import BucketPolicyError, MissingSettingError

    if not bucket:
        raise MissingSettingError("--bucket", "with --dedicated: the S3 bucket the dedicated trail writes to")
    target = DedicatedTrail.create(bucket, DEFAULT_PREFIX if prefix is None else prefix,
                                   name or DEFAULT_TRAIL_NAME, multi_region, organization)
    plan = plan_dedicated_trail(session, target)
    warning = plan.duplicate_warning()
    if warning:
        typer.echo(warning, err=True)
    for line in plan.describe():
        typer.echo(line)
    if not plan.up_to_date and not apply:
        typer.echo("  (nothing changed: re-run with --apply to make these changes)")
    elif not plan.up_to_date:
        if not yes:
            if not sys.stdin.isatty():
                raise fail("--apply changes CloudTrail and there is no terminal to confirm on: pass --yes",
                           EXIT_USAGE)
            if not typer.confirm(f"{'Create' if plan.create else 'Change'} trail {target.name} as above?",
                                 err=True):
                raise fail("nothing changed", EXIT_FAILURE)
        try:
            changes = apply_dedicated_plan(session, plan)
        except BucketPolicyError as error:
            typer.echo(json.dumps(error.policy, indent=2))
            raise
        typer.echo(f"applied: trail {target.name}: {'; '.join(changes)}")
    hint = " (--regions: every region your jobs log metrics from)" if multi_region else ""
    typer.echo(f"point the table at its prefix{hint}:")
    typer.echo(f"  {plan.create_table_command()}")
