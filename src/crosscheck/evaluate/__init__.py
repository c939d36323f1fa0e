"""``crosscheck eval ...``: evaluation commands, one module per task, each scoring with the task's official metric."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..clicommon import ErrorsAsMessages


def datasets_dir() -> Path:
    """The labelled corpora: ``CROSSCHECK_DATASETS``, else ``../shared/datasets`` beside the repository checkout."""
    env = os.environ.get("CROSSCHECK_DATASETS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


@click.group("eval", cls=ErrorsAsMessages)
def eval_group() -> None:
    """Score Crosscheck's models on labelled data with each task's official metric."""


def _register() -> None:
    # Each module adds its command to eval_group when imported.
    from . import attribution, checkworthiness, cleaning, reuse, stance, stories, techniques  # noqa: F401


_register()
