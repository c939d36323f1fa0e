"""Exports: JSONL (the contract in DESIGN.md), CSV and Parquet (nested fields as JSON text)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import InputError
from .store import Store, StoredArticle

FORMATS = ("jsonl", "csv", "parquet")
#: Flat columns, then nested ones (JSON text in CSV and Parquet).
FLAT_FIELDS = ("id", "url", "outlet", "title", "published", "fetched", "language", "status", "text")
NESTED_FIELDS = ("removed", "entities", "quantities", "dates", "attributions", "claims", "techniques", "links")


def article_record(store: Store, article: StoredArticle) -> dict[str, Any]:
    """One article as an export-contract object: metadata, clean text, removed boilerplate, analysis, links."""
    analysis = store.analysis(article.id) or {}
    record: dict[str, Any] = {
        "id": article.id,
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
    for key in ("entities", "quantities", "dates", "attributions", "claims", "techniques"):
        record[key] = analysis.get(key, [])
    if "profile" in analysis:
        record["technique_profile"] = analysis["profile"]
    record["links"] = store.links(article.id)
    return record


def iter_records(store: Store) -> Iterator[dict[str, Any]]:
    for article in store.articles():
        yield article_record(store, article)


def _flat_row(record: dict[str, Any]) -> dict[str, Any]:
    row = {k: record.get(k) for k in FLAT_FIELDS}
    row.update({k: json.dumps(record.get(k, []), ensure_ascii=False) for k in NESTED_FIELDS})
    return row


def export(store: Store, fmt: str, out: str | Path | IO[str]) -> int:
    """Write every article in ``fmt`` to ``out`` (a path, or a text stream for jsonl/csv). Returns the count."""
    if fmt not in FORMATS:
        raise InputError("E040", f"unknown export format '{fmt}'; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        if not isinstance(out, str | Path):
            raise InputError("E041", "Parquet is binary: give a file path with --output")
        return _export_parquet(store, Path(out))
    if isinstance(out, str | Path):
        with open(out, "w", encoding="utf-8", newline="") as handle:
            return export(store, fmt, handle)
    count = 0
    if fmt == "jsonl":
        for record in iter_records(store):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(out, fieldnames=[*FLAT_FIELDS, *NESTED_FIELDS])
    writer.writeheader()
    for record in iter_records(store):
        writer.writerow(_flat_row(record))
        count += 1
    return count


def _export_parquet(store: Store, path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(k, pa.string()) for k in (*FLAT_FIELDS, *NESTED_FIELDS)])
    count = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        batch: list[dict[str, Any]] = []
        for record in iter_records(store):
            batch.append(_flat_row(record))
            count += 1
            if len(batch) >= 500:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch.clear()
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return count
