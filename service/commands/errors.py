"""One clear line instead of a traceback for errors a user can fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

USER_ERROR_EXIT = 2


@contextmanager
def user_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """Turn the given exception kinds, and file-system errors a user causes (a missing file, a folder that
    cannot be written, a file where a folder belongs), into ``error: <message>`` on stderr, exit code 2."""
    try:
        yield
    except (*kinds, FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(USER_ERROR_EXIT) from None
