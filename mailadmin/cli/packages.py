"""`mailadmin packages`: service tiers with a role cap, limits, credit settings and assets."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import complete_packages, complete_roles
from mailadmin.cli.options import DryRun, Output, PackageName, ShowOutput, Yes

app = typer.Typer(help="Packages: service tiers with limits, credits and a role that caps their accounts.", no_args_is_help=True)

Role = Annotated[Optional[str], typer.Option("--role", "-r", metavar="ROLE", help="The role that caps what the package's accounts may do.", autocompletion=complete_roles, show_default=False)]
Limit = Annotated[Optional[list[str]], typer.Option("--limit", "-l", metavar="NAME=VALUE", help="A limit: an integer >= 0 or `unlimited` (repeatable), e.g. daily=5000.", show_default=False)]
Credits = Annotated[Optional[bool], typer.Option("--credits/--no-credits", help="Enable pay-as-you-go credits.", show_default=False)]
CreditCost = Annotated[Optional[str], typer.Option("--credit-cost", metavar="AMOUNT", help="Credits per email, up to 4 decimals (0.0010).", show_default=False)]
AllowOveruse = Annotated[Optional[bool], typer.Option("--allow-overuse/--no-allow-overuse", help="Let accounts send past a limit by paying credits.", show_default=False)]
BounceLimit = Annotated[Optional[str], typer.Option("--bounce-limit", metavar="PCT", help="Bounce rate (percent, up to 2 decimals) above which an account is suspended; `none` for no limit.", show_default=False)]
ExpiresAfter = Annotated[Optional[str], typer.Option("--expires-after", metavar="DAYS", help="Plan validity of new accounts in days, or `never`.", show_default=False)]
Description = Annotated[Optional[str], typer.Option("--description", "-d", metavar="TEXT", help="What the package is for.", show_default=False)]


@app.command("list")
def packages_list(output: Output = None) -> None:
    """List packages with their main limits, credit settings and account counts.

    Example: mailadmin packages list -o json
    """
    from mailadmin.cli.context import output_format, read
    from mailadmin.render.packages import packages_list as render
    from mailadmin.services import packages

    fmt = output_format(output)
    with read() as session:
        views = packages.list_packages(session)
    render(views, fmt)


@app.command("show")
def packages_show(name: PackageName, output: ShowOutput = None) -> None:
    """Show a package: role, every limit, credit settings, assets, accounts on it.

    Example: mailadmin packages show business -o json
    """
    from mailadmin.cli.context import output_format, read
    from mailadmin.render.packages import package_show
    from mailadmin.services import packages

    fmt = output_format(output, allow_ids=False)
    with read() as session:
        view = packages.describe(session, name)
    package_show(view, fmt)


@app.command("create")
def packages_create(
    name: PackageName,
    role: Role = None,
    limit: Limit = None,
    credits: Credits = None,
    credit_cost: CreditCost = None,
    allow_overuse: AllowOveruse = None,
    bounce_limit: BounceLimit = None,
    expires_after: ExpiresAfter = None,
    description: Description = None,
    asset: Annotated[Optional[list[str]], typer.Option("--asset", "-a", metavar="KIND=VALUE", help="Pre-assign an asset: node=NAME, bounce=EMAIL or domain=NAME (repeatable).", show_default=False)] = None,
    output: ShowOutput = None,
) -> None:
    """Create a package; limits not given are unlimited.

    Example: mailadmin packages create starter --role regular --limit daily=5000 --limit monthly=100000
    """
    from mailadmin.cli.context import actor, output_format, write
    from mailadmin.render.output import Format, message
    from mailadmin.render.packages import package_show
    from mailadmin.services import packages

    fmt = output_format(output, allow_ids=False)
    settings = packages.parse_settings(role=role, description=description, limit=limit or [], credits=credits,
                                       credit_cost=credit_cost, allow_overuse=allow_overuse, bounce_limit=bounce_limit,
                                       expires_after=expires_after, asset=asset or [])
    with write() as session:
        view = packages.create(session, actor(), name, settings)
    if fmt is Format.json:
        package_show(view, fmt)
    else:
        message(f"created package {view.name} (role {view.role})")


@app.command("edit")
def packages_edit(
    name: PackageName,
    role: Role = None,
    limit: Limit = None,
    credits: Credits = None,
    credit_cost: CreditCost = None,
    allow_overuse: AllowOveruse = None,
    bounce_limit: BounceLimit = None,
    expires_after: ExpiresAfter = None,
    description: Description = None,
    dry_run: DryRun = False,
    output: ShowOutput = None,
) -> None:
    """Change a package; every account that inherits follows (overrides stay).

    --dry-run lists the accounts the change reaches and which of them keep an override.
    A new --expires-after applies to accounts created from now on.

    Example: mailadmin packages edit starter --limit daily=8000 --dry-run
    """
    from mailadmin.cli.context import actor, output_format, read, write
    from mailadmin.render.packages import edit_report
    from mailadmin.services import packages

    fmt = output_format(output, allow_ids=False)
    settings = packages.parse_settings(role=role, description=description, limit=limit or [], credits=credits,
                                       credit_cost=credit_cost, allow_overuse=allow_overuse, bounce_limit=bounce_limit,
                                       expires_after=expires_after)
    with (read() if dry_run else write()) as session:
        result = packages.edit(session, actor(), name, settings, dry_run=dry_run)
    edit_report(result, fmt)


@app.command("delete")
def packages_delete(
    name: PackageName,
    reassign: Annotated[Optional[str], typer.Option("--reassign", metavar="OTHER", help="Move the package's accounts to this package first.", autocompletion=complete_packages, show_default=False)] = None,
    yes: Yes = False,
) -> None:
    """Delete a package; one still in use needs --reassign OTHER.

    Example: mailadmin packages delete trial --reassign free --yes
    """
    from mailadmin.cli.context import actor, confirm, write
    from mailadmin.render.output import message
    from mailadmin.services import packages

    confirm(f"delete package {name}" + (f", moving its accounts to {reassign}?" if reassign else "?"), yes)
    with write() as session:
        moved, target = packages.delete_package(session, actor(), name, reassign=reassign)
    message(f"deleted package {name}" + (f"; moved {moved} account(s) to {target}" if moved else ""))


@app.command("assets")
def packages_assets(
    name: PackageName,
    add: Annotated[Optional[list[str]], typer.Option("--add", metavar="KIND=VALUE", help="Assign node=NAME, bounce=EMAIL or domain=NAME (repeatable).", show_default=False)] = None,
    remove: Annotated[Optional[list[str]], typer.Option("--remove", metavar="KIND=VALUE", help="Unassign an asset (repeatable).", show_default=False)] = None,
    output: ShowOutput = None,
) -> None:
    """Show or change the sending nodes, bounce addresses and domains a package pre-assigns.

    Example: mailadmin packages assets business --add node=mta1 --remove bounce=old@bounce.example.net
    """
    from mailadmin.cli.context import actor, output_format, read, write
    from mailadmin.render.output import Column, emit_list, message
    from mailadmin.services import packages

    fmt = output_format(output, allow_ids=False)
    if add or remove:
        with write() as session:
            view, notes = packages.change_assets(session, actor(), name, add or [], remove or [])
        for note in notes:
            message(note)
    else:
        with read() as session:
            view = packages.describe(session, name)
    rows = [{"kind": kind, "value": value} for kind, values in view.assets.items() for value in values]
    emit_list(rows, [Column("kind"), Column("value")], fmt, empty=f"package {name} pre-assigns no assets")
