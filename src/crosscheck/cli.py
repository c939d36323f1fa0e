"""The ``crosscheck`` command: a thin click layer over the library. User errors exit non-zero with a clean message."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import __version__
from .clicommon import ErrorsAsMessages
from .errors import InputError
from .evaluate import eval_group
from .store import DEFAULT_DB, Store, open_store

F = TypeVar("F", bound=Callable[..., Any])


def _some(names: list[str], shown: int = 5) -> str:
    """The first few of ``names``, and how many more (a fuzzed or crawled folder can hold thousands)."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def db_option(func: F) -> F:
    return click.option(
        "--db",
        "db_path",
        default=DEFAULT_DB,
        show_default=True,
        envvar="CROSSCHECK_DB",
        help="SQLite database file (created when missing). Env: CROSSCHECK_DB.",
    )(func)


def _open(db_path: str, *, create: bool = False) -> Store:
    """Open the database; only commands that store new articles create a missing file (a typo is an error)."""
    return open_store(db_path, create=create)


def _shorten(text: str, width: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``width`` characters (an ellipsis marks a cut)."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat.rfind(" ", 0, width - 1)
    return flat[: cut if cut > width // 2 else width - 1].rstrip(" ,;:") + "…"


@click.group(cls=ErrorsAsMessages, context_settings={"help_option_names": ["-h", "--help"]})
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

    from .errors import SKIP_UNREADABLE
    from .ingest import FieldMap, IngestOptions
    from .ingest import ingest as run_ingest
    from .ingest.options import DEFAULT_MAX_BYTES

    if "-" in inputs and sys.stdin.isatty():
        raise InputError("E048")

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
    with (
        _open(db_path, create=True) as store,
        tqdm(desc="ingest", unit=" inputs", disable=quiet, file=sys.stderr) as bar,
    ):
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
        parts = [f"no such file or directory: {_some(missing)}"] if missing else []
        if fieldless:
            parts.append(
                f"no '{text_field}' or '{html_field}' field or column (see --text-field, --html-field): "
                + _some(fieldless)
            )
        raise InputError("E050" if missing else "E051", problems="; ".join(parts))


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
                    f"{article.id}  {(article.published or '-')[:10]:10}  {(article.outlet or '-'):24}  "
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
        article = store.require(article_id)
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
            f"{_source_name(a.get('source'))} —{(a.get('cue') or {}).get('text', '')}→ "
            f"{_shorten(a['content']['text'], 160)!r}"
            for a in record["attributions"]
        ],
    )
    links_of: dict[str, list[dict[str, Any]]] = {}
    for item in record.get("links", []):
        links_of.setdefault(item["claim"], []).append(item)
    claim_lines = []
    for c in record["claims"]:
        source = f" (source: {c['source']})" if c.get("source") else ""
        claim_lines.append(f"{c['score']:.2f} {' '.join(c['text'].split())!r}{source}")
        for item in links_of.get(c["id"], []):
            where = "this article" if item["other_article"] == article.id else item["other_article"]
            claim_lines.append(f"     {item['relation']} {item['other_claim']} ({where}): {item['reason']}")
    _echo_section("Check-worthy claims", claim_lines)
    if record.get("story"):
        related = ", ".join(f"{r['article']} ({r['kind']}, {r['score']:.2f})" for r in record.get("related", []))
        click.echo(f"\nstory {record['story']}" + (f"; related: {related}" if related else ""))
    places = {e["canonical"]: (e["lat"], e["lon"]) for e in record["entities"] if e.get("canonical") and e.get("lat")}
    _echo_section("Places", [f"{name} ({lat:.4f}, {lon:.4f})" for name, (lat, lon) in places.items()])
    _echo_section("Notes", [n["message"] for n in record.get("notes", [])])
    if article.status == "failed":
        click.echo(f"\nanalysis failed: {article.reason}")
    if record["removed"]:
        kinds = sorted({r["kind"] for r in record["removed"]})
        click.echo(f"\n{len(record['removed'])} pieces of boilerplate removed ({', '.join(kinds)}); see --removed")


def _source_name(source: dict[str, Any] | None) -> str:
    if not source:
        return "(unnamed)"
    text = str(source.get("text", ""))
    canonical = source.get("canonical")
    return f"{text} [{canonical}]" if canonical and canonical != text else text


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
            raise InputError("E043")
        count = run_export(store, fmt, target)
    click.echo(f"exported {count} articles ({fmt})", err=True)


def _check_runner(runner: str, address: str | None) -> None:
    """--address belongs to the Ray runner (E111 otherwise)."""
    from .errors import RunnerError

    if address and runner != "ray":
        raise RunnerError("E111")


def runner_options(func: F) -> F:
    func = click.option(
        "--address",
        default=None,
        envvar="CROSSCHECK_RAY_ADDRESS",
        help="Ray cluster to join (head:6379 or ray://head:10001; default: start Ray on this machine). "
        "Env: CROSSCHECK_RAY_ADDRESS.",
    )(func)
    return click.option(
        "--runner",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Where the work runs: local processes, or Ray (the 'ray' extra).",
    )(func)


@main.command()
@db_option
@click.option("--stages", default=None, help="Comma-separated stage names (default: all built-in stages).")
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Processes (default: every core for larger batches); with --runner ray and no --address, the CPUs of the "
    "Ray instance started here.",
)
@click.option("--force", is_flag=True, help="Re-analyse every article, not only new or changed ones.")
@runner_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def analyze(
    db_path: str, stages: str | None, workers: int | None, force: bool, runner: str, address: str | None, quiet: bool
) -> None:
    """Run the analysis stages over stored articles that are new or changed.

    With --runner ray the same analysis runs on Ray Data (a local Ray instance, or the cluster at --address); the
    results are the same as the local runner's.
    """
    from tqdm import tqdm

    from .runners.base import due, no_collection_at_exit
    from .runners.local import DEFAULT_STAGES, analyze_store

    _check_runner(runner, address)
    no_collection_at_exit()
    names = [s for s in stages.split(",") if s] if stages else list(DEFAULT_STAGES)
    with _open(db_path) as store:
        total = store.count() if force else len(due(store, names))
        with tqdm(total=total, desc="analyze", unit=" articles", disable=quiet, file=sys.stderr) as bar:
            if runner == "ray":
                from .runners.ray import analyze_store_ray

                done = analyze_store_ray(
                    store, stages=names, address=address, num_cpus=workers, force=force, progress=bar.update
                )
            else:
                done = analyze_store(store, stages=names, workers=workers, force=force, progress=bar.update)
        stats = store.stats()
        failures = store.failures()
    click.echo(
        f"analysed {done - len(failures)} of {done} articles with {', '.join(names)}; {stats['claims']} claims stored"
    )
    for article_id, reason in failures:
        click.echo(f"  failed {article_id}: {reason}", err=True)


@main.command()
@db_option
def stats(db_path: str) -> None:
    """Counts: articles, analysed, duplicates, skipped inputs (with reasons), claims."""
    with _open(db_path) as store:
        counts = store.stats()
        skipped = store.skipped()
        failures = store.failures()
    for key, value in counts.items():
        click.echo(f"{key:10} {value}")
    for item in skipped:
        click.echo(f"  skipped {item.origin}: {item.code}: {item.reason}")
    for article_id, reason in failures:
        click.echo(f"  failed  {article_id}: {reason} (the next 'crosscheck analyze' retries it)")


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
    checks = report["cross_checks"]
    if checks:
        click.echo("\nAcross sources (crosscheck claims lists every cluster):")
        for item in checks:
            click.echo(f"  {item['relation'].upper()}: {item['reason']}")
            for side in ("claim", "other"):
                c = item[side]
                click.echo(f"    {c['article']} {_shorten(c['text'], 110)!r}")
    elif stats["analyzed"]:
        click.echo("\nAcross sources: nothing linked yet (run 'crosscheck link')")


@main.command()
@db_option
@click.option("--no-stance", is_flag=True, help="Decide relations by numbers and denials only (faster).")
@runner_options
@click.option("--workers", type=int, default=None, help="With --runner ray and no --address: CPUs of local Ray.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def link(db_path: str, no_stance: bool, runner: str, address: str | None, workers: int | None, quiet: bool) -> None:
    """Link claims across articles (corroborates / contradicts / related), stories and reused passages.

    Incremental: articles analysed since the last run are linked against everything stored. Claims analysed without
    the claim_vectors stage are embedded first: with --runner ray, on Ray.
    """
    from functools import partial

    from tqdm import tqdm

    from .corpus import link_corpus
    from .corpus.link import LINK_VERSION, Embedder, LinkOptions

    _check_runner(runner, address)
    embedder: Embedder | None = None
    if runner == "ray":
        from .runners.ray import embed_claims_ray, import_ray

        import_ray()  # say at once when Ray is missing, not after the first articles
        embedder = partial(embed_claims_ray, address=address, num_cpus=workers)
    with _open(db_path) as store:
        due = len(store.due_for_linking(LINK_VERSION))
        with tqdm(total=due, desc="link", unit=" articles", disable=quiet, file=sys.stderr) as bar:
            result = link_corpus(
                store, options=LinkOptions(stance=not no_stance), progress=bar.update, embedder=embedder
            )
        counts = store.link_counts()
    links = result.links
    embedded = f" ({links.embedded} claims embedded first)" if links.embedded else ""
    click.echo(
        f"linked {links.articles} articles ({links.claims} claims){embedded}: "
        + ", ".join(f"{counts.get(r, 0)} {r}" for r in ("corroborates", "contradicts", "related"))
        + f" links in the store; {result.stories} stories; {result.reused} reused passages"
    )


@main.command()
@click.argument("claim", required=False)
@db_option
@click.option(
    "--claims",
    "claims_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A file of claims: one per line, or CSV/JSONL with a 'claim' column.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--no-stance", is_flag=True, help="Decide by numbers and denials only.")
def check(claim: str | None, db_path: str, claims_file: str | None, fmt: str, no_stance: bool) -> None:
    """Which stored articles corroborate, contradict or discuss CLAIM (run 'crosscheck link' first)."""
    from .corpus.check import CheckOptions, check_claims, read_claims_file

    claims = ([claim] if claim else []) + (read_claims_file(claims_file) if claims_file else [])
    if not claims:
        raise InputError("E049")
    with _open(db_path) as store:
        answers = check_claims(store, claims, options=CheckOptions(stance=not no_stance))
    for text, results in zip(claims, answers, strict=True):
        if fmt == "jsonl":
            for r in results:
                click.echo(json.dumps(r.to_dict(), ensure_ascii=False))
            continue
        click.echo(click.style(f"\n{text}", bold=True) + f"  ({len(results)} articles)")
        for relation in ("corroborates", "contradicts", "discusses"):
            group = [r for r in results if r.relation == relation]
            if not group:
                continue
            click.echo(f"  {relation}:")
            for r in group:
                click.echo(
                    f"    {r.article}  {(r.outlet or 'unknown outlet')[:24]:24} {(r.published or 'undated')[:10]:10} "
                    f"{r.score:.2f}  {_shorten(r.evidence['text'], 110)!r}"
                )
                click.echo(f"      {r.reason}")


@main.command(name="claims")
@db_option
@click.option("--place", help="Only clusters with a claim about this place (canonical name, e.g. 'Kherson').")
@click.option("--source", help="Only clusters with a claim whose source contains this text.")
@click.option("--outlet", help="Only clusters told by this outlet.")
@click.option("--since", help="Only clusters with a claim dated on or after this day (YYYY-MM-DD).")
@click.option("--until", help="Only clusters with a claim dated on or before this day (YYYY-MM-DD).")
@click.option(
    "--relation",
    type=click.Choice(["corroborates", "contradicts", "related"]),
    help="Only clusters with this relation.",
)
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--offset", type=int, default=0)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per cluster.")
def claims_(
    db_path: str,
    place: str | None,
    source: str | None,
    outlet: str | None,
    since: str | None,
    until: str | None,
    relation: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Claim clusters: the same fact told by several claims, with how they relate and why."""
    from .corpus.views import ClusterFilter, list_clusters

    filters = ClusterFilter(place=place, source=source, outlet=outlet, since=since, until=until, relation=relation)
    with _open(db_path) as store:
        clusters = list_clusters(store, filters, limit=limit, offset=offset)
    for c in clusters:
        if as_json:
            click.echo(json.dumps(c, ensure_ascii=False))
            continue
        relations = ", ".join(f"{n} {r}" for r, n in sorted(c["relations"].items()))
        click.echo(f"\ncluster {c['cluster']}: {len(c['claims'])} claims in {c['articles']} articles ({relations})")
        for claim in c["claims"]:
            click.echo(
                f"  {claim['article']}  {(claim['outlet'] or '-')[:20]:20} {_shorten(claim['text'], 100)!r}"
                + (f" (source: {claim['source']})" if claim["source"] else "")
            )
        for item in c["links"]:
            click.echo(f"    {item['relation']}: {item['reason']}")
    if not clusters:
        click.echo("no claim clusters (run 'crosscheck link' first, or loosen the filters)")


@main.command()
@db_option
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--offset", type=int, default=0)
@click.option("--all", "show_all", is_flag=True, help="Also stories told by one article only.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per story.")
def stories(db_path: str, limit: int, offset: int, show_all: bool, as_json: bool) -> None:
    """News stories: articles from any outlet reporting the same event."""
    with _open(db_path) as store:
        found = store.story_list(limit=limit, offset=offset, min_articles=1 if show_all else 2)
        titles = {a.id: a.title for a in store.get_many([i for s in found for i in s["article_ids"]])}
    for story in found:
        if as_json:
            click.echo(json.dumps(story, ensure_ascii=False))
            continue
        click.echo(
            f"\nstory {story['story']}: {story['articles']} articles, {story['outlets']} outlets, "
            f"{(story['first_published'] or 'undated')[:10]} – {(story['last_published'] or 'undated')[:10]}"
        )
        for article_id in story["article_ids"]:
            click.echo(f"  {article_id}  {titles.get(article_id) or ''}")
    if not found:
        click.echo("no stories of several articles (run 'crosscheck link' first; --all lists single ones)")


@main.command()
@db_option
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON: the passages and the outlet-pair report.")
def reuse(db_path: str, limit: int, as_json: bool) -> None:
    """Passages copied between articles, with the first publisher, and who repeatedly copies whom."""
    with _open(db_path) as store:
        passages = store.reuse_pairs(limit=limit)
        texts = {a.id: a.text for a in store.get_many([p["article"] for p in passages])}
        pairs = store.reuse_outlet_pairs()
    if as_json:
        click.echo(json.dumps({"passages": passages, "outlet_pairs": pairs}, ensure_ascii=False, indent=2))
        return
    for p in passages:
        first = "first publisher unknown" if p["first"] == "unknown" else f"first published by {p['first']}"
        click.echo(
            f"\n{p['article']} [{p['start']}:{p['end']}] = {p['other_article']} "
            f"[{p['other_start']}:{p['other_end']}]  ({first})"
        )
        click.echo(f"  {_shorten(texts.get(p['article'], '')[p['start'] : p['end']], 160)!r}")
    if pairs:
        click.echo("\nWho copies whom (copier <- first publisher: articles, passages):")
        for pair in pairs:
            click.echo(f"  {pair['copier']} <- {pair['source']}: {pair['articles']}, {pair['passages']}")
    if not passages:
        click.echo("no reused passages (run 'crosscheck link' first)")


@main.command()
@db_option
@click.option("--since", help="From this day (YYYY-MM-DD).")
@click.option("--until", help="Up to this day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="The timeline and narratives as JSON (for the dashboard).")
def timeline(db_path: str, since: str | None, until: str | None, as_json: bool) -> None:
    """Dated claims with their places, day by day, and the narratives they belong to."""
    from .corpus.views import narratives
    from .corpus.views import timeline as build_timeline

    with _open(db_path) as store:
        data = build_timeline(store, since=since, until=until)
        data["narratives"] = narratives(store)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    day = None
    for event in data["events"]:
        if event["day"] != day:
            day = event["day"]
            click.echo(f"\n{day}  ({data['per_day'][day]} claims)")
        places = ", ".join(p["name"] for p in event["places"])
        click.echo(f"  {_shorten(event['text'], 110)!r}" + (f" [{places}]" if places else ""))
    if data["narratives"]:
        click.echo("\nNarratives:")
        for n in data["narratives"]:
            click.echo(f"  {n['claims']} claims in {n['articles']} articles: {_shorten(n['label'], 100)!r}")
    if not data["events"]:
        click.echo("no dated claims (run 'crosscheck analyze' and 'crosscheck link' first)")


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on (0: any free port).")
@click.option(
    "--token",
    envvar="CROSSCHECK_TOKEN",
    default=None,
    help="Allow uploads and re-analysis to requests bearing this token (default: read-only). Env: CROSSCHECK_TOKEN.",
)
@click.option("--max-upload", type=int, default=None, help="Largest upload in bytes (default 20 MiB).")
def serve(db_path: str, host: str, port: int, token: str | None, max_upload: int | None) -> None:
    """The web dashboard and REST API over the database (read while analyze or link write to it).

    The address printed is the overview page; /docs is the API reference, /openapi.json its schema.
    """
    from .errors import WebError

    try:
        from .web import DEFAULT_MAX_UPLOAD, bind, create_app, make_server
    except ImportError as exc:
        raise WebError("E105", missing=exc.name or exc) from exc

    app = create_app(db_path, token=token, max_upload_bytes=max_upload or DEFAULT_MAX_UPLOAD)
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    mode = "writes need the token" if token else "read-only"
    click.echo(f"Crosscheck dashboard on http://{shown}:{bound}/  ({db_path}, {mode}; Ctrl-C stops)")
    make_server(app, log_level="warning").run(sockets=[sock])


if __name__ == "__main__":
    main()
