"""check-trail: does CloudTrail log the metric events, and where to."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from smtrail_sql.cli.app import app, fail
from smtrail_sql.cli.options import Profile, Region


@app.command("check-trail")
def check_trail_command(
    trail: Annotated[str | None, typer.Option(help="Only this trail (name or ARN).")] = None,
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Add the selector to trails that lack it, keeping every existing selector."),
    ] = False,
    all_data_events: Annotated[
        bool,
        typer.Option(
            "--all-trial-component-events",
            help="Select every data event on trial components, not only BatchPutMetrics.",
        ),
    ] = False,
    region: Region = None,
    profile: Profile = None,
) -> None:
    """Say whether CloudTrail logs the BatchPutMetrics data events, where to, and how to fix it if not.

    Exit code 1 when no trail logs them (and --apply was not given).

    \b
    Example: smtrail-sql check-trail --trail my-org-trail --apply
    """
    from smtrail_sql.aws.session import make_session
    from smtrail_sql.aws.trail import apply_metrics_selector, metrics_selector, read_trails

    session = make_session(profile, region)
    checks = read_trails(session, trail)
    if not checks:
        raise fail(
            f"no CloudTrail trail in region {session.region_name}; create one (a multi-region trail "
            "delivering to S3), then add the selector below"
        )
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
        else:
            typer.echo("  advanced event selector to add (or re-run with --apply):")
            selector = json.dumps(metrics_selector(not all_data_events), indent=2)
            typer.echo("\n".join("    " + line for line in selector.splitlines()))
    if not apply and not any(c.logs_metrics for c in checks):
        raise typer.Exit(1)
