"""Scale of ``crosscheck link``: time and peak memory to link the claims of 10k, 50k and 100k generated articles.

The corpus is built from the real claims of the three examples (their text, numbers, places and dates as the
analysis found them): each generated article takes a few of them, swaps their places among the war's places (text
and place fields), varies their numbers (value and text) and dates, and gets an outlet and a publication day within
half a year. Vectors are real embeddings of every (sentence, place) variant's text; numbers and dates are varied
without re-embedding (they barely move a sentence embedding). Each size is linked in a fresh subprocess, so its peak
memory (max RSS) is its own.

    python benchmarks/link.py --sizes 10000,50000,100000

prints a table (articles, claims, links, seconds, claims/s, peak MB) and writes it to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLACES = ["Kherson", "Kharkiv", "Izium", "Balakliia", "Kupiansk", "Mykolaiv", "Zaporizhzhia", "Lyman", "Bakhmut"]
OUTLETS = [f"outlet-{i:02d}.example" for i in range(20)]
CLAIMS_PER_ARTICLE = 6
_NUMBER = re.compile(r"\d[\d,]*")


def _scaled(number: str, factor: float) -> str:
    return f"{round(float(number.replace(',', '')) * factor):,}"


def base_claims() -> list[dict[str, Any]]:
    """The examples' claims after analysis (text, quantities, places, date), each with its places' names."""
    from crosscheck import open_store
    from crosscheck.ingest import ingest
    from crosscheck.runners.local import analyze_store

    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "base.db") as store:
        ingest([str(ROOT / "examples")], store)
        analyze_store(store, stages=["parse", "entities", "quantities", "dates", "attribution", "claims"], workers=1)
        claims = [c for a in store.articles() for c in (store.analysis(a.id) or {}).get("claims", [])]
    return claims


def variants(claims: list[dict[str, Any]]) -> dict[tuple[int, str], str]:
    """Each claim's text with its first place name replaced by each of PLACES (the original when it names none)."""
    out = {}
    for i, claim in enumerate(claims):
        names = [p["text"] for p in claim.get("places", []) if p.get("text")]
        for place in PLACES:
            out[(i, place)] = claim["text"].replace(names[0], place) if names else claim["text"]
    return out


def build(path: Path, n_articles: int, seed: int = 7) -> int:
    """Write a store of ``n_articles`` generated articles with their claims and claim vectors. Returns claims."""
    import numpy as np

    from crosscheck import open_store
    from crosscheck.analyze.claim_vectors import ENCODER
    from crosscheck.article import Article
    from crosscheck.corpus.embed import embed

    claims = base_claims()
    texts = variants(claims)
    keys = sorted(texts)
    vectors = dict(zip(keys, embed([texts[k] for k in keys]), strict=True))
    rng = random.Random(seed)
    start = date(2022, 6, 1)
    total = 0
    with open_store(path) as store:
        store.conn.execute("PRAGMA synchronous=OFF")
        with store.transaction():
            for n in range(n_articles):
                published = start + timedelta(days=rng.randrange(180))
                picks = rng.sample(range(len(claims)), CLAIMS_PER_ARTICLE)
                place = rng.choice(PLACES)
                body, data_claims, vecs = [], [], {}
                offset = 0
                for i in picks:
                    base = claims[i]
                    factor = rng.choice([1.0, 1.0, 1.0, 0.5, 2.0, 1.2])
                    text = texts[(i, place)]
                    quantities = []
                    for q in base.get("quantities", []):
                        if q.get("value") is not None:
                            q = {**q, "value": float(q["value"]) * factor}
                        quantities.append(q)
                    if factor != 1.0:
                        text = _NUMBER.sub(
                            lambda m, f=factor: f"{round(float(m.group().replace(',', '')) * f):,}", text
                        )
                    places = [{**p, "canonical": place, "text": place} for p in base.get("places", [])[:1]]
                    places += base.get("places", [])[1:]
                    body.append(text)
                    cid = f"{n:08x}{i:08x}:{offset}-{offset + len(text)}"
                    day = (published - timedelta(days=rng.randrange(3))).isoformat() if base.get("date") else None
                    data_claims.append(
                        {
                            **base,
                            "id": cid,
                            "start": offset,
                            "end": offset + len(text),
                            "text": text,
                            "quantities": quantities,
                            "places": places,
                            "date": day,
                        }
                    )
                    vecs[cid] = np.asarray(vectors[(i, place)], dtype=np.float32)
                    offset += len(text) + 1
                article = Article(
                    raw="\n".join(body),
                    origin=f"gen#{n}",
                    text="\n".join(body) + f"\n[{n}]",
                    outlet=rng.choice(OUTLETS),
                    published=published.isoformat(),
                    language="en",
                )
                article.finalise_ids()
                for c in data_claims:
                    c["id"] = f"{article.id}:{c['id'].split(':')[1]}"
                vecs = {f"{article.id}:{k.split(':')[1]}": v for k, v in vecs.items()}
                store.conn.execute(
                    "INSERT INTO articles(id, hash, origin, outlet, published, language, raw_format, raw, text) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'text', ?, ?)",
                    (
                        article.id,
                        article.hash,
                        article.origin,
                        article.outlet,
                        article.published,
                        "en",
                        "",
                        article.text,
                    ),
                )
                store._write_analysis(article.id, ["claims"], "bench", {"claims": data_claims})
                store._write_vectors(article.id, ENCODER, vecs)
                total += len(data_claims)
    return total


def run_one(path: Path, stance: bool) -> dict[str, Any]:
    """Link the store at ``path`` (in this process) and report time, CPU and peak memory."""
    from crosscheck import open_store
    from crosscheck.corpus.link import LinkOptions, link_store

    with open_store(path) as store:
        t0, c0 = time.perf_counter(), time.process_time()
        summary = link_store(store, options=LinkOptions(stance=stance))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        stored = store.conn.execute("SELECT count(*) FROM links").fetchone()[0]
    return {
        "articles": summary.articles,
        "claims": summary.claims,
        "links": int(stored),
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "claims_per_s": round(summary.claims / wall, 0) if wall else None,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000,100000", help="Articles per corpus, comma-separated.")
    parser.add_argument("--stance", action="store_true", help="Let the stance model decide open pairs (slower).")
    parser.add_argument("--out", default="out/link-benchmark.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(Path(args.child), args.stance)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"link-{size}.db"
            t0 = time.perf_counter()
            claims = build(path, size)
            built = time.perf_counter() - t0
            command = [sys.executable, __file__, "--child", str(path)] + (["--stance"] if args.stance else [])
            child = subprocess.run(command, capture_output=True, text=True)
            if child.returncode:
                sys.exit(f"linking {size} articles failed:\n{child.stderr}")
            result = json.loads(child.stdout)
            result["build_seconds"] = round(built, 1)
            assert result["claims"] == claims
            rows.append(result)
            print(
                f"{size:>7} articles {claims:>8} claims {result['links']:>9} links  {result['seconds']:>7.1f} s "
                f"({result['cpu_seconds']:.1f} CPU s)  {result['claims_per_s']:>8.0f} claims/s  "
                f"peak {result['peak_mb']:.0f} MB",
                flush=True,
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
