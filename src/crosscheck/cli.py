"""The ``crosscheck`` command: a thin click layer over the library. User errors exit non-zero with a clean message."""

from __future__ import annotations

import click

from . import __version__
from .evaluate import eval_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crosscheck")
def main() -> None:
    """Crosscheck: who claims what in war reporting, how they say it, and where sources agree or contradict."""


main.add_command(eval_group)
