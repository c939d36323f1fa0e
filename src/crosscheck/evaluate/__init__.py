"""``crosscheck eval ...``: evaluation commands, one module per task, each scoring with the task's official metric."""

from __future__ import annotations

import click


@click.group("eval")
def eval_group() -> None:
    """Score Crosscheck's models on labelled data with each task's official metric."""


def _register() -> None:
    # Each module adds its command to eval_group when imported.
    # one import line per evaluation module (cleaning, techniques, checkworthiness, attribution)
    pass


_register()
