"""``crosscheck`` for the reliability tests' subprocesses: the real command line, plus the test stages, a memory
report and a file size limit.

Run as a script, so spawned pool workers (which re-import the main script) register the test stages too. At exit the
command writes its peak resident memory in KB to the file named by ``CROSSCHECK_TEST_RSS`` (when set). With
``CROSSCHECK_TEST_FSIZE`` set, no file can grow past that many bytes (RLIMIT_FSIZE, with SIGXFSZ ignored so a write
past it fails as on a full disk instead of killing the process).
"""

from __future__ import annotations

import atexit
import os
import resource
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for _faulty_stages
import _faulty_stages  # noqa: F401  (registers the test stages)


def _write_peak_rss() -> None:
    target = os.environ.get("CROSSCHECK_TEST_RSS")
    if target:
        Path(target).write_text(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss), encoding="ascii")


if __name__ == "__main__":
    from crosscheck.cli import main

    atexit.register(_write_peak_rss)
    if limit := os.environ.get("CROSSCHECK_TEST_FSIZE"):
        import py3langid

        py3langid.classify("warm up")  # its model load writes a temporary file: before the limit, not under it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
    main()
