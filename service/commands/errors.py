"""One clear line instead of a traceback for errors a user can fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError

USER_ERROR_EXIT = 2
# Some cameras failed while the others finished (their results were written).
PARTIAL_FAILURE_EXIT = 1


@contextmanager
def user_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """Turn the given exception kinds, and file-system errors a user causes (a missing file, a folder that
    cannot be written, a file where a folder belongs), into ``error: <message>`` on stderr, exit code 2."""
    try:
        yield
    except ValidationError as exc:
        typer.secho(f"error: {one_line(exc)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(USER_ERROR_EXIT) from None
    except (*kinds, FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(USER_ERROR_EXIT) from None


def one_line(exc: ValidationError) -> str:
    """A pydantic validation error as one line: ``<Model>: <field>: <message>; ...``."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return f"invalid {exc.title}: " + "; ".join(problems)
