"""What every ``crosscheck`` command group shares: library errors shown as one clean line with a non-zero exit."""

from __future__ import annotations

from typing import Any

import click

from .errors import CrosscheckError


class ErrorsAsMessages(click.Group):
    """Shows a :class:`~crosscheck.errors.CrosscheckError` as ``Error: [code] message`` (exit 1), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CrosscheckError as exc:
            raise click.ClickException(str(exc)) from exc
