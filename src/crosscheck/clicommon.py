"""What every ``crosscheck`` command group shares: library errors shown as one clean line with a non-zero exit, and
terminal output made safe to show."""

from __future__ import annotations

import sys
from typing import Any

import click

from .errors import CrosscheckError


class ErrorsAsMessages(click.Group):
    """Shows a :class:`~crosscheck.errors.CrosscheckError` as ``Error: [code] message`` (exit 1), never a traceback;
    makes what a command writes to a terminal safe to show (article text can hold escape sequences and bidi
    overrides: see :class:`~crosscheck.render.TerminalWriter`)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from .render import TerminalWriter

        streams = {"stdout": sys.stdout, "stderr": sys.stderr}
        writers = {
            name: TerminalWriter(stream, carriage_return=name == "stderr")
            for name, stream in streams.items()
            if stream is not None and stream.isatty()
        }
        for name, writer in writers.items():
            setattr(sys, name, writer)
        try:
            return super().main(*args, **kwargs)
        finally:
            for name, writer in writers.items():
                writer.finish()
                setattr(sys, name, streams[name])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CrosscheckError as exc:
            raise click.ClickException(str(exc)) from exc
