"""Exports: JSONL (the contract in DESIGN.md), CSV and Parquet (nested fields as JSON text)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .analyze.pipeline import declared_layers
from .errors import InputError
from .store import Store, StoredArticle

FORMATS = ("jsonl", "csv", "parquet")
#: Flat columns of CSV and Parquet; every other field (the layers) is a column of JSON text.
FLAT_FIELDS = (
    "id",
    "origin",
    "url",
    "outlet",
    "title",
    "published",
    "fetched",
    "language",
    "status",
    "story",
    "text",
)
#: Across-sources fields, written by ``crosscheck link``.
CORPUS_FIELDS = ("links", "related", "reuse")


def nested_fields() -> list[str]:
    """The export's layer fields, in order: removed boilerplate, every declared layer, then cross-article links."""
    return ["removed", *(layer.name for layer in declared_layers()), *CORPUS_FIELDS]


def article_record(store: Store, article: StoredArticle) -> dict[str, Any]:
    """One article as an export-contract object: metadata, clean text, removed boilerplate, analysis, links."""
    analysis = store.analysis(article.id) or {}
    record: dict[str, Any] = {
        "id": article.id,
        "origin": article.origin,
        "url": article.url,
        "outlet": article.outlet,
        "title": article.title,
        "published": article.published,
        "fetched": article.fetched,
        "language": article.language,
        "status": article.status,
        "text": article.text,
        "removed": [r.to_dict() for r in article.removed],
    }
    for declared in declared_layers():
        if declared.many:
            record[declared.name] = analysis.get(declared.name, [])
        elif declared.name in analysis:
            record[declared.name] = analysis[declared.name]
    if analysis.get("notes"):
        record["notes"] = analysis["notes"]
    record["links"] = store.links(article.id)
    record["story"] = store.story_of(article.id)
    record["related"] = store.related(article.id)
    record["reuse"] = store.reuse(article.id)
    return record


#: Characters that ``str.splitlines`` and some JSON Lines readers take for line ends, though JSON leaves them raw:
#: written escaped, so a record is always exactly one line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(record: dict[str, Any]) -> str:
    """One record as one line of JSON (UTF-8 text; line and paragraph separators escaped), without the newline."""
    return json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS)


def iter_records(store: Store) -> Iterator[dict[str, Any]]:
    for article in store.articles():
        yield article_record(store, article)


def _flat_row(record: dict[str, Any], nested: list[str]) -> dict[str, Any]:
    row = {k: record.get(k) for k in FLAT_FIELDS}
    row.update({k: json.dumps(record.get(k), ensure_ascii=False) for k in nested})
    return row


def export(store: Store, fmt: str, out: str | Path | IO[str]) -> int:
    """Write every article in ``fmt`` to ``out`` (a path, or a text stream for jsonl/csv). Returns the count."""
    if fmt not in FORMATS:
        raise InputError("E040", fmt=fmt, choices=", ".join(FORMATS))
    if fmt == "parquet":
        if not isinstance(out, str | Path):
            raise InputError("E043")
        return _export_parquet(store, Path(out))
    if isinstance(out, str | Path):
        try:
            handle = open(out, "w", encoding="utf-8", newline="")  # noqa: SIM115  (closed below)
        except OSError as exc:
            raise InputError("E044", path=out, reason=exc.strerror or exc) from exc
        with handle:
            return export(store, fmt, handle)
    count = 0
    nested = nested_fields()
    if fmt == "jsonl":
        for record in iter_records(store):
            out.write(json_line(record) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(out, fieldnames=[*FLAT_FIELDS, *nested])
    writer.writeheader()
    for record in iter_records(store):
        writer.writerow(_flat_row(record, nested))
        count += 1
    return count


def _export_parquet(store: Store, path: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError("E046") from exc

    nested = nested_fields()
    schema = pa.schema([(k, pa.string()) for k in (*FLAT_FIELDS, *nested)])
    count = 0
    try:
        writer = pq.ParquetWriter(str(path), schema)
    except OSError as exc:
        raise InputError("E044", path=path, reason=exc) from exc
    with writer:
        batch: list[dict[str, Any]] = []
        for record in iter_records(store):
            batch.append(_flat_row(record, nested))
            count += 1
            if len(batch) >= 500:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch.clear()
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return count
