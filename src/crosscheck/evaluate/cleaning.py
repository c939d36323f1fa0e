"""Boilerplate-removal evaluation on trafilatura's evaluation pages (``trafilatura-eval``).

Each entry of ``evaldata.json`` names a saved page and snippets that belong to the main text (``with``) or are
boilerplate (``without``). A ``with`` snippet found in the output is a true positive (missing: false negative); a
``without`` snippet found is a false positive (missing: true negative). Whitespace is collapsed on both sides before
matching. Precision, recall, F1 and accuracy are over all snippets of all pages, as in trafilatura's own evaluation.

Methods scored (all on the same pages):

- ``visible-text``: every visible line of the page, no cleaning (the floor);
- ``text-cleaner``: every visible line, then Crosscheck's plain-text cleaner (how a page that arrives as text fares);
- ``trafilatura``: trafilatura's standard mode (with its fallback extractors);
- ``trafilatura-fast``: trafilatura's fast mode (no fallbacks);
- ``crosscheck-html``: what ``crosscheck ingest`` does with an HTML page (fast mode, then the cleaner's pattern,
  list and bio steps).

Every page is decoded as the HTML reader decodes it (BOM, ``<meta charset>``, detection), then given to each method.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..errors import InputError
from ..ingest.readers.decode import decode_html
from . import eval_group

METHODS = ("visible-text", "text-cleaner", "trafilatura", "trafilatura-fast", "crosscheck-html")


@dataclass
class SnippetScore:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    pages: int = 0
    seconds: float = 0.0
    per_page: list[float] = field(default_factory=list)

    def add(self, text: str, with_: list[str], without: list[str]) -> None:
        haystack = _squash(text)
        for snippet in with_:
            if _squash(snippet) in haystack:
                self.tp += 1
            else:
                self.fn += 1
        for snippet in without:
            if _squash(snippet) in haystack:
                self.fp += 1
            else:
                self.tn += 1
        self.pages += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy(self) -> float:
        total = self.tp + self.fn + self.fp + self.tn
        return (self.tp + self.tn) / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "accuracy": round(self.accuracy, 4),
            "pages": self.pages,
            "pages_per_second": round(self.pages / self.seconds, 1) if self.seconds else None,
        }


def _squash(text: str) -> str:
    return " ".join(text.split())


def load_pages(data_dir: Path, *, limit: int | None = None) -> Iterator[tuple[str, str, list[str], list[str]]]:
    """(name, html, with, without) for every entry whose page is present, in a fixed order."""
    entries = json.loads((data_dir / "evaldata.json").read_text("utf-8"))
    count = 0
    for _, entry in sorted(entries.items()):
        page = data_dir / "html" / (entry["file"] + ".gz")
        if not page.exists():
            continue
        with gzip.open(page, "rb") as handle:
            html = decode_html(handle.read())  # as the HTML reader decodes a page
        yield entry["file"], html, list(entry.get("with") or []), list(entry.get("without") or [])
        count += 1
        if limit is not None and count >= limit:
            return


def method_function(name: str) -> Callable[[str], str]:
    """The text a method gives for a page's HTML."""
    import trafilatura

    from ..ingest.clean import clean_text
    from ..ingest.html import extract_html, html_to_text
    from ..ingest.metadata import detect_language

    def text_cleaner(html: str) -> str:
        text = html_to_text(html)
        return clean_text(text, language=detect_language(text)).text

    def crosscheck_html(html: str) -> str:
        extracted = extract_html(html)
        return clean_text(extracted.text, density=extracted.method == "visible-text").text

    functions: dict[str, Callable[[str], str]] = {
        "visible-text": html_to_text,
        "text-cleaner": text_cleaner,
        "trafilatura": lambda html: trafilatura.extract(html, include_comments=False) or "",
        "trafilatura-fast": lambda html: trafilatura.extract(html, fast=True, include_comments=False) or "",
        "crosscheck-html": crosscheck_html,
    }
    return functions[name]


def evaluate_cleaning(
    data_dir: Path, *, methods: tuple[str, ...] = METHODS, limit: int | None = None
) -> dict[str, SnippetScore]:
    """Score each method over the evaluation pages."""
    scores = {m: SnippetScore() for m in methods}
    functions = {m: method_function(m) for m in methods}
    for _, html, with_, without in load_pages(data_dir, limit=limit):
        for method in methods:
            start = time.perf_counter()
            text = functions[method](html)
            scores[method].seconds += time.perf_counter() - start
            scores[method].add(text, with_, without)
    return scores


def default_data_dir() -> Path:
    from . import datasets_dir

    return datasets_dir() / "trafilatura-eval"


@eval_group.command("cleaning")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None, help="trafilatura-eval folder.")
@click.option("--method", "methods", multiple=True, type=click.Choice(METHODS), help="Methods to score (default: all).")
@click.option("--limit", type=int, default=None, help="Score only the first N pages.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def cleaning_command(data_dir: Path | None, methods: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """Boilerplate removal: snippet precision/recall/F1 on trafilatura's evaluation pages."""
    data_dir = data_dir or default_data_dir()
    if not (data_dir / "evaldata.json").exists():
        raise InputError("E047", path=data_dir / "evaldata.json", hint="give --data or set CROSSCHECK_DATASETS")
    scores = evaluate_cleaning(data_dir, methods=methods or METHODS, limit=limit)
    if as_json:
        click.echo(json.dumps({m: s.to_dict() for m, s in scores.items()}, indent=2))
        return
    click.echo(f"{'method':18} {'precision':>9} {'recall':>7} {'F1':>6} {'accuracy':>8} {'pages/s':>8}")
    for method, s in scores.items():
        d = s.to_dict()
        click.echo(
            f"{method:18} {d['precision']:9.3f} {d['recall']:7.3f} {d['f1']:6.3f} {d['accuracy']:8.3f} "
            f"{d['pages_per_second'] or 0:8.1f}"
        )
