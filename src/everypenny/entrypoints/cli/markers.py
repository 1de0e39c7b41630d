"""`everypenny marker …`: broadcast markers, the moments an appeal went on air."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from everypenny.domain.broadcast import BadMarker
from everypenny.entrypoints.cli.shared import console, fail, fail_unknown_appeal, opened_platform
from everypenny.service_layer import broadcast
from everypenny.service_layer.appeals import UnknownAppeal

marker_app = typer.Typer(help="Broadcast markers: when an appeal went on air, to read each moment's effect.",
                         no_args_is_help=True)
Appeal = typer.Option(..., "--appeal", help="The appeal's slug.")


@marker_app.command("add")
def marker_add(label: str = typer.Argument(..., help='What went on air, e.g. "BBC One appeal film".'),
               appeal: str = Appeal) -> None:
    """Mark now as a moment the appeal went on air."""
    with opened_platform() as running:
        try:
            marker = broadcast.add_marker(running.uow(), appeal, label, datetime.now(UTC))
        except UnknownAppeal as error:
            fail_unknown_appeal(error)
        except BadMarker as error:
            fail(str(error), code=2)
    console.print(f"{appeal}: marked {marker.label!r} at {marker.at:%H:%M:%S} UTC", highlight=False, markup=False)


@marker_app.command("list")
def marker_list(appeal: str = Appeal) -> None:
    """The appeal's markers, oldest first, each with the texts and money of the 10 minutes either side."""
    with opened_platform() as running:
        try:
            effects = broadcast.marker_effects(running.uow(), appeal)
        except UnknownAppeal as error:
            fail_unknown_appeal(error)
    if not effects:
        console.print(f"{appeal}: no markers yet (`everypenny marker add --appeal {appeal} LABEL`)", markup=False)
    for effect in reversed(effects):
        console.print(f"{effect.marker.at:%Y-%m-%d %H:%M:%S} UTC  {effect.marker.label}  texts "
                      f"{effect.before.texts} before, {effect.after.texts} after; pence {effect.before.pence} "
                      f"before, {effect.after.pence} after", highlight=False, markup=False)
