"""Error and skip-reason codes, in one place.

User-facing failures raise a :class:`CrosscheckError` subclass with a code from :data:`ERRORS`; each code is defined
once here with its message template, and the message is built from keyword fields
(``StoreError("E023", path="x.db")``). The CLI shows ``[code] message`` and exits non-zero. ``docs/errors.md`` lists
every code; a test keeps the two in step.

Inputs that cannot become articles are not errors: they are recorded as :class:`~crosscheck.article.Skipped` with one
of the ``SKIP_*`` codes below, and the rest of the batch goes on.
"""

from __future__ import annotations

from typing import Any

# Reasons an input is skipped (stored in the ``origins`` table and shown in the ingest summary).
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

#: Every error code with its message template. Ranges: E01x pipeline, E02x store, E03x models, E04x inputs,
#: arguments and the command line, E05x ingest, E06x model runtime, E07x analysis stages, E08x and E09x across
#: sources, E10x the web dashboard and REST API, E11x runners (local processes, Ray). Append codes; never reuse or
#: renumber one that has shipped.
_TABLE: tuple[tuple[str, str], ...] = (
    ("E010", "cannot build the pipeline: {problems}"),
    ("E011", "unknown stage(s) {unknown}; known: {known}"),
    ("E012", "a stage named '{name}' is already registered"),
    ("E013", "stage '{name}' provides {undeclared}, which no layer declares (declare them with declare_layer)"),
    ("E014", "a layer named '{name}' is already declared"),
    ("E015", "the {stage} stage needs the parse stage's Doc (run 'parse' first)"),
    ("E020", "cannot open database {path}: {reason}"),
    ("E021", "{path} is not a Crosscheck database: {reason}"),
    ("E022", "{path} has schema version {version}, newer than this Crosscheck knows ({known}); upgrade Crosscheck"),
    ("E023", "no database at {path}; create one with 'crosscheck ingest FILES --db {path}'"),
    ("E024", "no article with id '{article_id}' (see: crosscheck list)"),
    ("E025", "id prefix '{article_id}' matches {count} articles ({examples}); give more of the id"),
    ("E026", "cannot write to the database {path}: {reason}"),
    (
        "E030",
        "spaCy pipeline '{name}' is not installed; install Crosscheck with its dependencies or set "
        "CROSSCHECK_SPACY_MODEL",
    ),
    ("E031", "model file {path} is missing; reinstall Crosscheck or retrain the model ({hint})"),
    ("E040", "unknown export format '{fmt}'; choose one of {choices}"),
    ("E041", "{path}: {problem}"),
    ("E042", "unknown input format '{fmt}'; choose one of {choices}"),
    ("E043", "Parquet is binary: give a file path with --output"),
    ("E044", "cannot write {path}: {reason}"),
    (
        "E045",
        "search query {query!r} is not valid full-text syntax ({reason}); quote phrases in double quotes, or "
        "search plain words",
    ),
    ("E046", "Parquet export needs pyarrow: pip install 'crosscheck[parquet]'"),
    ("E047", "no labelled data at {path}; {hint}"),
    ("E048", "'-' reads articles from standard input, but nothing is piped in"),
    ("E049", "give a claim to check, or --claims FILE"),
    ("E050", "{problems} (every other input was read; the skipped lines above say why)"),
    ("E051", "{problems} (every other input was read; the skipped lines above say why)"),
    (
        "E060",
        "model file {path} quantises whole activation tensors at run time ({ops}), so its scores would depend on the "
        "batch and the CPU; convert it with 'python -m training.quantize_weights', then "
        "'python -m training.quantize_rows'",
    ),
    (
        "E061",
        "model {path} reads the hidden states of encoder layer {wanted} of its trunk {trunk}, which ends after layer "
        "{has}; reinstall Crosscheck or export both again (see training/README.md)",
    ),
    (
        "E062",
        "model {path} has {has} weights a token, but its trunk's hidden states have {wanted} dimensions; reinstall "
        "Crosscheck or fit the model again (see training/README.md)",
    ),
    (
        "E063",
        "model {path} has {has} weights, but the poolings of its trunk's hidden states give {wanted} features; "
        "reinstall Crosscheck or fit the model again (see training/README.md)",
    ),
    (
        "E064",
        "model {path} computes attention without a mask, for batches of texts of one token length, and was given a "
        "padded batch; score it through OnnxModel.batches() or rows(), which never pad",
    ),
    ("E090", "{path}: no claims found ({problem})"),
    ("E100", "bad parameter '{name}': {problem}"),  # a query, path or body parameter the API cannot use
    ("E101", "no {what} '{key}'{hint}"),  # a cluster, story, outlet or page that does not exist
    ("E102", "this server is read-only: start it with 'crosscheck serve --token TOKEN' to allow {action}"),
    ("E103", "{action} needs the server's token: send it as 'Authorization: Bearer TOKEN'"),
    ("E104", "the upload is over the limit of {limit} bytes (crosscheck serve --max-upload)"),
    ("E105", "the web dashboard needs FastAPI, uvicorn and Jinja2: pip install 'crosscheck[web]' ({missing})"),
    ("E106", "cannot listen on {host}:{port}: {reason}"),
    ("E107", "the upload has no file: send it as the multipart form field 'file'"),
    ("E108", "method {method} is not allowed on {path}; allowed: {allowed}"),
    ("E080", "cannot read a text-reuse fingerprint: {reason}"),  # stored fingerprint bytes damaged or not ours
    ("E081", "the text-reuse fingerprint of article {article_id} was made from another text; fingerprint it again"),
    (
        "E082",
        "the text-reuse fingerprint of article {article_id} was made with {made}, not {wanted}; fingerprint it again",
    ),
    ("E110", "the Ray runner needs Ray, which is not installed: pip install 'crosscheck[ray]'"),
    ("E111", "--address is for the Ray runner: add --runner ray"),
    ("E112", "cannot start or reach Ray{where}: {reason}"),
    ("E113", "the Ray runner reads the store from a database file, and {path} is not one"),
    (
        "E114",
        "a worker process stopped while analysing ({reason}); {saved} articles were saved and {left} are not done: "
        "run the same command again to finish them",
    ),
    (
        "E115",
        "the Ray run stopped ({reason}); {saved} items were saved and {left} are not done: run the same command "
        "again to finish them",
    ),
)

ERRORS: dict[str, str] = dict(_TABLE)


def error_codes() -> list[str]:
    """Every defined code, in table order (duplicates included, so a test can find them)."""
    return [code for code, _ in _TABLE]


class CrosscheckError(Exception):
    """An error the user can act on. ``code`` is stable; the message (from :data:`ERRORS`) says what to do."""

    def __init__(self, code: str, **fields: Any) -> None:
        template = ERRORS.get(code)
        if template is None:
            raise KeyError(f"error code {code} is not defined in crosscheck.errors")
        self.code = code
        self.fields = fields
        self.message = template.format(**fields)
        super().__init__(f"[{code}] {self.message}")


class PipelineError(CrosscheckError):
    """A pipeline that cannot be built: unknown stages or unmet requirements (E01x)."""


class StoreError(CrosscheckError):
    """A store that cannot be opened, migrated or read as asked (E02x)."""


class ModelError(CrosscheckError):
    """A shipped model file that is missing or unreadable (E03x)."""


# E060 (ModelError): a model file that quantises activations at run time (scores would depend on batch and CPU).
# E061 (ModelError): a head model whose trunk ends at another layer than the one it was trained on.
# E062 (ModelError): a model over the trunk's hidden states whose weights do not match their width.
# E063 (ModelError): a model over pooled trunk states whose weights do not match the number of features.
# E064 (ModelError): a padded batch given to a model whose attention ignores the mask (it reads every token).


class InputError(CrosscheckError):
    """Bad arguments to a reader, an export or the CLI (E04x, E05x)."""


class WebError(CrosscheckError):
    """A request the web dashboard or REST API cannot serve, or a server that cannot start (E10x)."""


class RunnerError(CrosscheckError):
    """A runner that cannot start, or whose workers stopped before the work was done (E11x)."""
