"""A stage that fails on purpose, for the runner and reliability tests.

Importing this module registers it, in the test process and in worker processes (a Ray worker setup hook, or a
spawned pool worker re-importing the main script that imports it). On an article containing :data:`RAISE` it raises,
like a stage bug on one input; on one containing :data:`KILL` it kills its own process with SIGKILL, once: the file
named by ``CROSSCHECK_TEST_KILL_FLAG`` records that it happened, so the redone batch goes through.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from typing import ClassVar

from crosscheck.analyze.pipeline import Document, Layer, register_stage

RAISE = "FAULTY-RAISE"
KILL = "FAULTY-KILL"
KILL_FLAG = "CROSSCHECK_TEST_KILL_FLAG"


@register_stage("test-faulty")
class FaultyStage:
    name: ClassVar[str] = "test-faulty"
    requires: ClassVar[tuple[str, ...]] = ("doc",)
    provides: ClassVar[tuple[str, ...]] = ("test-faulty",)
    layers: ClassVar[tuple[Layer, ...]] = (Layer("test-faulty", many=False, internal=True),)

    def __call__(self, docs: Sequence[Document]) -> None:
        for d in docs:
            flag = os.environ.get(KILL_FLAG)
            if KILL in d.text and flag and not os.path.exists(flag):
                with open(flag, "w", encoding="utf-8") as f:
                    f.write(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)
            if RAISE in d.text:
                raise ValueError("cannot handle this article")
            d.layers["test-faulty"] = True


def register() -> None:
    """Worker setup hook: importing this module has registered the stage already."""
