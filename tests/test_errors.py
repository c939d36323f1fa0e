"""Error codes: each defined once with its template, documented, and carried by every user-facing error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crosscheck.errors import ERRORS, CrosscheckError, StoreError, error_codes

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "crosscheck"
RAISED = re.compile(r"""Error\(\s*["'](E\d{3})["']""")


def test_codes_are_unique_and_well_formed() -> None:
    codes = error_codes()
    assert len(codes) == len(set(codes)), [c for c in codes if codes.count(c) > 1]
    assert all(re.fullmatch(r"E\d{3}", c) for c in codes)


def test_every_code_is_documented() -> None:
    documented = set(re.findall(r"^\| `(E\d{3})` \|", (ROOT / "docs" / "errors.md").read_text("utf-8"), re.M))
    assert documented == set(ERRORS)


def test_every_raised_code_is_defined() -> None:
    raised = {
        (path.name, code)
        for path in SRC.rglob("*.py")
        if path.name != "errors.py"
        for code in RAISED.findall(path.read_text("utf-8"))
    }
    assert raised, "no raise sites found: the pattern is stale"
    assert {(name, code) for name, code in raised if code not in ERRORS} == set()


def test_the_cli_raises_no_error_without_a_code() -> None:
    # The one ClickException is the group wrapper that shows a CrosscheckError's "[code] message".
    for path in [SRC / "cli.py", *(SRC / "evaluate").glob("*.py")]:
        source = path.read_text("utf-8")
        assert "ClickException(" not in source and "UsageError(" not in source, path.name
        assert "BadParameter(" not in source, path.name
    assert (SRC / "clicommon.py").read_text("utf-8").count("ClickException(") == 1


def test_messages_come_from_the_template() -> None:
    error = StoreError("E023", path="typo.db")
    assert str(error) == "[E023] no database at typo.db; create one with 'crosscheck ingest FILES --db typo.db'"
    assert error.code == "E023" and isinstance(error, CrosscheckError)
    with pytest.raises(KeyError):
        CrosscheckError("E999")
