"""The ``crosscheck`` command: a thin click layer over the library. User errors exit non-zero with a clean message."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import __version__
from .errors import CrosscheckError
from .evaluate import eval_group
from .store import DEFAULT_DB, Store, open_store

F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    """Shows library errors as clean messages with a non-zero exit, never as tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CrosscheckError as exc:
            raise click.ClickException(str(exc)) from exc


def db_option(func: F) -> F:
    return click.option(
        "--db",
        "db_path",
        default=DEFAULT_DB,
        show_default=True,
        envvar="CROSSCHECK_DB",
        help="SQLite database file (created when missing). Env: CROSSCHECK_DB.",
    )(func)


def _open(db_path: str) -> Store:
    return open_store(db_path)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crosscheck")
def main() -> None:
    """Crosscheck: who claims what in war reporting, how they say it, and where sources agree or contradict.

    \b
    Typical use:
      crosscheck ingest examples/          # read, clean and store articles
      crosscheck analyze                   # entities, quantities, attribution, claims, techniques
      crosscheck list                      # what is stored
      crosscheck show ID                   # one article with its spans marked
      crosscheck export --format jsonl -o out.jsonl
    """


main.add_command(eval_group)


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "warc", "jsonl", "csv"]),
    default=None,
    help="Read every input as this format (default: by extension and content).",
)
@click.option("--max-bytes", type=int, default=None, help="Size cap per page or record (default 20 MB).")
@click.option("--text-field", default="text", show_default=True, help="JSONL/CSV field holding plain text.")
@click.option("--html-field", default="html", show_default=True, help="JSONL/CSV field holding HTML.")
@click.option("--url-field", default="url", show_default=True, help="JSONL/CSV field holding the URL.")
@click.option("--title-field", default="title", show_default=True, help="JSONL/CSV field holding the title.")
@click.option("--published-field", default="published", show_default=True, help="JSONL/CSV field: publication date.")
@click.option("--outlet-field", default="outlet", show_default=True, help="JSONL/CSV field holding the outlet.")
@click.option("--timeout", type=float, default=20.0, show_default=True, help="Seconds to wait for a URL.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def ingest(
    inputs: tuple[str, ...],
    db_path: str,
    fmt: str | None,
    max_bytes: int | None,
    text_field: str,
    html_field: str,
    url_field: str,
    title_field: str,
    published_field: str,
    outlet_field: str,
    timeout: float,
    quiet: bool,
) -> None:
    """Read, clean and store articles from files, directories, WARC archives, JSONL/CSV exports, URLs or - (stdin).

    Re-running the same command is safe: stored inputs are recognised and nothing is duplicated; a re-run with other
    field options updates the metadata of what it stored. Every input is read; the exit status is then 1 when an input
    path does not exist or a JSONL/CSV file has no text or html field (see --text-field), else 0.
    """
    from tqdm import tqdm

    from .errors import E_INPUT_MISSING, E_NO_TEXT_FIELD, SKIP_UNREADABLE, InputError
    from .ingest import FieldMap, IngestOptions
    from .ingest import ingest as run_ingest
    from .ingest.options import DEFAULT_MAX_BYTES

    if "-" in inputs and sys.stdin.isatty():
        raise click.UsageError("'-' reads articles from standard input, but nothing is piped in")

    options = IngestOptions(
        max_bytes=max_bytes or DEFAULT_MAX_BYTES,
        fields=FieldMap(
            text=text_field,
            html=html_field,
            url=url_field,
            title=title_field,
            published=published_field,
            outlet=outlet_field,
        ),
        fetch_timeout=timeout,
        format=fmt,
    )
    with _open(db_path) as store, tqdm(desc="ingest", unit=" inputs", disable=quiet, file=sys.stderr) as bar:
        summary = run_ingest(list(inputs), store, options=options, progress=lambda _: bar.update(1))
        stored = store.count()
    updated = f", updated {summary.updated}" if summary.updated else ""
    click.echo(
        f"ingested {summary.ingested}, duplicates {summary.duplicates}, unchanged {summary.unchanged}, "
        f"skipped {len(summary.skipped)}{updated}  ({stored} articles in {db_path})"
    )
    for skipped in summary.skipped:
        click.echo(f"  skipped {skipped.origin}: {skipped.code}: {skipped.reason}")
    problems = summary.input_errors
    if problems:
        missing = [p.origin for p in problems if p.code == SKIP_UNREADABLE]
        fieldless = [p.origin for p in problems if p.code != SKIP_UNREADABLE]
        parts = [f"no such file or directory: {', '.join(missing)}"] if missing else []
        if fieldless:
            parts.append(
                f"no '{text_field}' or '{html_field}' field or column (see --text-field, --html-field): "
                + ", ".join(fieldless)
            )
        code = E_INPUT_MISSING if missing else E_NO_TEXT_FIELD
        raise InputError(code, "; ".join(parts))


@main.command(name="list")
@db_option
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--offset", type=int, default=0)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(db_path: str, limit: int, offset: int, as_json: bool) -> None:
    """List stored articles: id, date, outlet, status, title."""
    with _open(db_path) as store:
        for article in store.articles(limit=limit, offset=offset):
            title = article.title or article.text[:70].replace("\n", " ")
            if as_json:
                row = {k: getattr(article, k) for k in ("id", "published", "outlet", "status", "title", "url")}
                click.echo(json.dumps(row, ensure_ascii=False))
            else:
                click.echo(
                    f"{article.id}  {(article.published or '-')[:10]:10}  {(article.outlet or '-')[:20]:20}  "
                    f"{article.status:9}  {title}"
                )


@main.command()
@click.argument("article_id")
@db_option
@click.option("--removed", is_flag=True, help="Show the raw page with the removed boilerplate marked.")
@click.option(
    "--layers",
    default="techniques,entities,quantities,dates",
    show_default=True,
    help="Span layers to mark in the text (comma-separated).",
)
@click.option("--color/--no-color", default=None, help="Colour marks (default: when writing to a terminal).")
@click.option("--json", "as_json", is_flag=True, help="The article's export record as JSON.")
def show(article_id: str, db_path: str, removed: bool, layers: str, color: bool | None, as_json: bool) -> None:
    """Show one article (id or unique id prefix): clean text with its spans marked, claims and attributions."""
    from .export import article_record
    from .render import mark_removed, mark_text

    use_color = sys.stdout.isatty() if color is None else color
    with _open(db_path) as store:
        article = store.get(article_id)
        if article is None:
            raise click.ClickException(f"no article with id '{article_id}' (see: crosscheck list)")
        record = article_record(store, article)
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    click.echo(click.style(record["title"] or "(untitled)", bold=True) if use_color else record["title"] or "")
    click.echo(
        f"id {article.id} · {article.outlet or 'unknown outlet'} · {article.published or 'undated'} · "
        f"{article.language or '?'} · {article.origin}"
    )
    click.echo("")
    if removed:
        click.echo(mark_removed(article.raw, article.removed, color=use_color))
        return
    body, notes = mark_text(article.text, record, layers=[x for x in layers.split(",") if x], color=use_color)
    click.echo(body)
    _echo_section("Persuasion techniques", notes)
    _echo_section(
        "Attributions",
        [
            f"{(a.get('source') or {}).get('text', '(unnamed)')} —{(a.get('cue') or {}).get('text', '')}→ "
            f"{a['content']['text'][:120]!r}"
            for a in record["attributions"]
        ],
    )
    _echo_section(
        "Check-worthy claims",
        [
            f"{c['score']:.2f} {c['text'][:140]!r}" + (f" (source: {c['source']})" if c.get("source") else "")
            for c in record["claims"]
        ],
    )
    places = {e["canonical"]: (e["lat"], e["lon"]) for e in record["entities"] if e.get("canonical") and e.get("lat")}
    _echo_section("Places", [f"{name} ({lat:.4f}, {lon:.4f})" for name, (lat, lon) in places.items()])
    if record["removed"]:
        kinds = sorted({r["kind"] for r in record["removed"]})
        click.echo(f"\n{len(record['removed'])} pieces of boilerplate removed ({', '.join(kinds)}); see --removed")


def _echo_section(title: str, lines: list[str]) -> None:
    if lines:
        click.echo(f"\n{title}:")
        for line in lines:
            click.echo(f"  {line}")


@main.command()
@click.argument("query")
@db_option
@click.option("--limit", type=int, default=20, show_default=True)
def search(query: str, db_path: str, limit: int) -> None:
    """Full-text search of titles and clean text (SQLite FTS5 syntax: words, "phrases", OR, NEAR, prefix*)."""
    with _open(db_path) as store:
        hits = store.search(query, limit=limit)
    if not hits:
        click.echo("no matches")
    for hit in hits:
        click.echo(f"{hit['id']}  {hit['title'] or ''}\n    {hit['snippet']}")


@main.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default="jsonl", show_default=True)
@click.option("--output", "-o", default="-", show_default=True, help="Output file (- for stdout; not for parquet).")
def export(db_path: str, fmt: str, output: str) -> None:
    """Export every article with its analysis (JSONL follows the export contract; CSV/Parquet nest as JSON)."""
    from .export import export as run_export

    with _open(db_path) as store:
        target: Any = sys.stdout if output == "-" and fmt != "parquet" else output
        if output == "-" and fmt == "parquet":
            raise click.UsageError("Parquet is binary: give a file with --output")
        count = run_export(store, fmt, target)
    click.echo(f"exported {count} articles ({fmt})", err=True)


@main.command()
@db_option
@click.option("--stages", default=None, help="Comma-separated stage names (default: all built-in stages).")
@click.option("--workers", type=int, default=None, help="Processes (default: every core for larger batches).")
@click.option("--force", is_flag=True, help="Re-analyse every article, not only new or changed ones.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def analyze(db_path: str, stages: str | None, workers: int | None, force: bool, quiet: bool) -> None:
    """Run the analysis stages over stored articles that are new or changed."""
    from tqdm import tqdm

    from .runners.local import DEFAULT_STAGES, analyze_store

    names = [s for s in stages.split(",") if s] if stages else list(DEFAULT_STAGES)
    with _open(db_path) as store:
        total = store.count() if force else len(store.needs_analysis(names, __version__))
        with tqdm(total=total, desc="analyze", unit=" articles", disable=quiet, file=sys.stderr) as bar:
            done = analyze_store(store, stages=names, workers=workers, force=force, progress=bar.update)
        stats = store.stats()
    click.echo(f"analysed {done} articles with {', '.join(names)}; {stats['claims']} claims stored")


@main.command()
@db_option
def stats(db_path: str) -> None:
    """Counts: articles, analysed, duplicates, skipped inputs (with reasons), claims."""
    with _open(db_path) as store:
        counts = store.stats()
        skipped = store.skipped()
    for key, value in counts.items():
        click.echo(f"{key:10} {value}")
    for item in skipped:
        click.echo(f"  skipped {item.origin}: {item.code}: {item.reason}")


@main.command()
def stages() -> None:
    """List the registered analysis stages with what each requires and provides."""
    from .analyze.pipeline import stage_info

    for name, requires, provides in stage_info():
        click.echo(f"{name:12} requires {', '.join(requires) or '-':52} provides {', '.join(provides)}")


@main.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="The summary as JSON.")
def summary(db_path: str, as_json: bool) -> None:
    """A readable summary of the corpus: per article, then places, sources, techniques and equipment."""
    from .report import corpus_summary

    with _open(db_path) as store:
        report = corpus_summary(store)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    stats = report["stats"]
    click.echo(
        f"\n{stats['articles']} articles ({stats['analyzed']} analysed), {stats['duplicates']} duplicates, "
        f"{stats['skipped']} skipped inputs, {stats['claims']} check-worthy claims"
    )
    for a in report["articles"]:
        click.echo(f"\n{a['id']}  {a['title']}")
        click.echo(
            f"  {a['words']} words, {a['removed']} boilerplate pieces removed; {a['entities']} entities, "
            f"{a['quantities']} quantities, {a['attributions']} attributions, {a['claims']} claims, "
            f"{a['techniques']} technique spans"
        )
        if a["top_claim"]:
            click.echo(f"  top claim: {a['top_claim'][:150]!r}")
    _echo_section(
        "Places", [f"{p['place']} ×{p['mentions']} ({p['lat']:.3f}, {p['lon']:.3f})" for p in report["places"]]
    )
    _echo_section("Sources", [f"{s} ×{n}" for s, n in report["sources"]])
    _echo_section("Persuasion techniques", [f"{t} ×{n}" for t, n in report["techniques"]])
    _echo_section("Units and equipment", [f"{e} ×{n}" for e, n in report["equipment"]])


if __name__ == "__main__":
    main()
