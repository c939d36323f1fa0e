"""``crosscheck eval ...``: evaluation commands, one module per task, each scoring with the task's official metric."""

from __future__ import annotations

import importlib
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


#: Each command's module (the module adds its command to :data:`eval_group` when imported).
COMMAND_MODULES = ("attribution", "checkworthiness", "cleaning", "reuse", "stance", "stories", "techniques")


class EvalGroup(ErrorsAsMessages):
    """Imports a command's module only when the command is named or listed: the reuse evaluation alone pulls in
    datasketch and scipy (0.4 s and 30 MB), which every other ``crosscheck`` command, ``analyze`` in each worker
    among them, would otherwise pay for at start-up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"{__name__}.{cmd_name}")
        return super().get_command(ctx, cmd_name)


@click.group("eval", cls=EvalGroup)
def eval_group() -> None:
    """Score Crosscheck's models on labelled data with each task's official metric."""
