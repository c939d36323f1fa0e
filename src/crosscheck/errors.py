"""Error and skip-reason codes, in one place.

User-facing failures raise :class:`CrosscheckError` (the CLI shows its message and exits non-zero). Inputs that cannot
become articles are not errors: they are recorded as :class:`~crosscheck.article.Skipped` with one of the
``SKIP_*`` codes below, and the rest of the batch goes on.
"""

from __future__ import annotations

# Reasons an input is skipped (stored in the ``skipped`` table and shown in the ingest summary).
SKIP_EMPTY = "empty"  # no text at all, or nothing left after cleaning
SKIP_BINARY = "binary"  # looks like a binary file, not text
SKIP_ENCODING = "encoding"  # bytes that decode in no encoding we could detect
SKIP_TOO_LARGE = "too-large"  # over the configured size cap (also catches gzip bombs)
SKIP_UNKNOWN_FORMAT = "unknown-format"  # no reader for this file
SKIP_TRUNCATED = "truncated"  # an archive that ends early (WARC, gzip)
SKIP_MALFORMED = "malformed"  # a record or document that cannot be parsed
SKIP_FETCH = "fetch-failed"  # a URL that could not be fetched
SKIP_UNREADABLE = "unreadable"  # a file that cannot be opened (permissions, missing)
SKIP_NO_TEXT = "no-text"  # extraction found no main text in a page


class CrosscheckError(Exception):
    """An error the user can act on. ``code`` is stable; the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message


class PipelineError(CrosscheckError):
    """A pipeline that cannot be built: unknown stages or unmet requirements (E01x)."""


class StoreError(CrosscheckError):
    """A store that cannot be opened or migrated (E02x)."""


class ModelError(CrosscheckError):
    """A shipped model file that is missing or unreadable (E03x)."""


# E060 (ModelError): a model file that quantises activations at run time (scores would depend on batch and CPU).


class InputError(CrosscheckError):
    """Bad arguments to a reader or the CLI (E04x)."""
