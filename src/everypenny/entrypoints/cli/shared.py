"""What every command group shares: the consoles, errors with exit codes, and the wired platform.

The bottom of the CLI package: it imports no other CLI module, so command groups can all use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from everypenny import bootstrap
from everypenny.adapters.db.engine import SchemaNotCurrent
from everypenny.domain.money import format_pence
from everypenny.service_layer import desk
from everypenny.service_layer.appeals import UnknownAppeal

# Soft wrap: long lines stay whole, so output reads the same in a terminal, a pipe or a log.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

Result = TypeVar("Result")

RequiredAppeal = typer.Option(..., "--appeal", help="The appeal's slug.")
Reference = typer.Option(..., "--reference", help="The reference on the bank statement or remittance.")


# say, complain and fail print plain text: square brackets in a message (`everypenny[spike]`, a donor's name)
# are shown as written, never taken for rich markup.


def say(text: str) -> None:
    console.print(escape(text), highlight=False)


def complain(text: str) -> None:
    errors.print(escape(text), highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def fail_unknown_appeal(error: UnknownAppeal) -> NoReturn:
    fail(f"{error}; `everypenny appeal list` shows them", code=2)


def count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


@contextmanager
def opened_platform() -> Iterator[bootstrap.Platform]:
    """The wired platform for one command; refuses a database whose schema this code does not know."""
    try:
        platform = bootstrap.build()
    except SchemaNotCurrent as error:
        fail(str(error), code=3)
    try:
        yield platform
    finally:
        platform.engine.dispose()


def run_refusing(action: Callable[[bootstrap.Platform], Result],
                 refusals: tuple[type[Exception], ...]) -> Result:
    """Runs a use case on the platform, turning its refusals into a clear error and exit code 2."""
    with opened_platform() as running:
        try:
            return action(running)
        except refusals as error:
            fail(str(error).strip('"'), code=2)


def appeal_money(slug: str) -> Callable[[int], str]:
    """Formats pence in the appeal's own currency."""
    with opened_platform() as running:
        try:
            currency = desk.appeal(running.uow(), slug).currency
        except UnknownAppeal:
            currency = "GBP"
    return lambda pence: format_pence(pence, currency)
