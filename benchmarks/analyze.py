"""Speed and memory of the analysis stages against spaCy's pipeline alone, in one run.

The corpus is the bundled examples, each repeated with its paragraphs shuffled (seeded) until there are ``--articles``
articles. Each configuration runs in a fresh process (so its peak resident memory is its own) after loading its
models and warming up on a few articles; loading time is reported apart. Configurations:

- ``spacy``: ``nlp.pipe`` over the texts (what the ``parse`` stage does), one process;
- ``spacy-n2``: the same with ``n_process=2`` (only with ``--n-process 2``);
- one per ``--stages`` list: the analysis pipeline, with each stage timed on its own.

    python benchmarks/analyze.py --articles 300 --stages parse,entities,quantities,dates --stages all

``all`` means every registered stage in the order the pipeline accepts (parse first).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BATCH = 32


def corpus(n: int, seed: int = 0) -> list[str]:
    texts = [p.read_text("utf-8") for p in sorted(EXAMPLES.glob("*.txt"))]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        paras = [p for p in texts[i % len(texts)].split("\n\n") if p.strip()]
        if i >= len(texts):
            rng.shuffle(paras)
        out.append("\n\n".join(paras))
    return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_spacy(texts: list[str], n_process: int) -> dict[str, Any]:
    from crosscheck.analyze.parse import load_nlp

    t0 = time.perf_counter()
    nlp = load_nlp()
    load = time.perf_counter() - t0
    list(nlp.pipe(texts[:3]))
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in nlp.pipe(texts, batch_size=16, n_process=n_process):
        pass
    return {"load_s": load, "run_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "stages": {}}


def _order(names: list[str]) -> list[str]:
    """Every registered stage, in an order whose requirements are met (parse first)."""
    from crosscheck.analyze.pipeline import _REGISTRY, BASE_PROVIDES, registered_stages

    registered_stages()
    todo = list(names)
    done: list[str] = []
    available = set(BASE_PROVIDES)
    while todo:
        for name in todo:
            factory = _REGISTRY[name]
            if set(getattr(factory, "requires", ())) <= available:
                done.append(name)
                available.update(getattr(factory, "provides", ()))
                todo.remove(name)
                break
        else:
            done.extend(todo)  # let build_pipeline name what is missing
            break
    return done


def _run_pipeline(texts: list[str], stages: list[str]) -> dict[str, Any]:
    from crosscheck.analyze.pipeline import Document, build_pipeline
    from crosscheck.article import Article

    t0 = time.perf_counter()
    skipped: dict[str, str] = {}
    if stages and stages[0] == "all":
        # every registered stage that loads here (a stage whose model is not built yet is reported, not run)
        from crosscheck.analyze.pipeline import _REGISTRY, Pipeline, check_order, registered_stages

        registered_stages()  # imports the stage modules
        built = []
        for name in _order(sorted(_REGISTRY)):
            try:
                built.append(_REGISTRY[name]())
            except Exception as exc:
                skipped[name] = f"{type(exc).__name__}: {exc}"
        pipe = Pipeline(built)
        check_order(pipe.stages)
    else:
        pipe = build_pipeline(stages)
    load = time.perf_counter() - t0

    def docs(batch: list[str]) -> list[Document]:
        return [Document(article=Article(raw=t, origin="bench", text=t, published="2022-09-13")) for t in batch]

    pipe(docs(texts[:3]))
    per_stage = dict.fromkeys(pipe.names, 0.0)
    per_stage_cpu = dict.fromkeys(pipe.names, 0.0)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), BATCH):
        batch = docs(texts[i : i + BATCH])
        for stage in pipe.stages:
            s0, sc0 = time.perf_counter(), time.process_time()
            stage(batch)
            per_stage[stage.name] += time.perf_counter() - s0
            per_stage_cpu[stage.name] += time.process_time() - sc0
    return {
        "load_s": load,
        "run_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "stages": per_stage,
        "stages_cpu": per_stage_cpu,
        "skipped": skipped,
    }


def _child(kind: str, arg: Any, texts: list[str], queue: Any) -> None:
    try:
        result = _run_spacy(texts, arg) if kind == "spacy" else _run_pipeline(texts, arg)
    except Exception as exc:  # reported by the parent: a stage that cannot load (e.g. its model is not built)
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        return
    result["peak_mb"] = _peak_mb()
    queue.put(result)


def measure(kind: str, arg: Any, texts: list[str]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(kind, arg, texts, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--stages", action="append", help="comma-separated stage list, or 'all' (repeatable)")
    ap.add_argument("--n-process", type=int, default=1, help="also time nlp.pipe with this many processes")
    ap.add_argument(
        "--threads", type=int, default=1, help="onnxruntime threads per process (CROSSCHECK_THREADS; spaCy uses one)"
    )
    args = ap.parse_args(argv)
    os.environ["CROSSCHECK_THREADS"] = str(args.threads)  # inherited by the measuring processes
    from crosscheck.analyze.pipeline import registered_stages

    texts = corpus(args.articles)
    words = sum(len(t.split()) for t in texts)
    configs: list[tuple[str, str, Any]] = [("spacy", "spacy", 1)]
    if args.n_process > 1:
        configs.append((f"spacy-n{args.n_process}", "spacy", args.n_process))
    for spec in args.stages or ["parse,entities,quantities,dates", "all"]:
        if spec == "all":
            configs.append(("all registered: " + ",".join(_order(registered_stages())), "pipeline", ["all"]))
        else:
            configs.append((spec, "pipeline", spec.split(",")))
    print(f"corpus: {len(texts)} articles, {words} words; python {sys.version.split()[0]}")
    base = base_cpu = None
    for label, kind, arg in configs:
        r = measure(kind, arg, texts)
        if "error" in r:
            print(f"{label:60s} not run: {r['error']}")
            continue
        base = base or r["run_s"]
        base_cpu = base_cpu or r["cpu_s"]
        print(
            f"{label[:60]:60s} {len(texts) / r['run_s']:7.1f} articles/s {words / r['run_s']:8.0f} words/s "
            f"x{r['run_s'] / base:5.2f} of spaCy (CPU x{r['cpu_s'] / base_cpu:5.2f})  peak {r['peak_mb']:6.0f} MB  "
            f"load {r['load_s']:.1f} s"
        )
        for name, why in r.get("skipped", {}).items():
            print(f"    {name:20s} not run: {why[:100]}")
        for name, secs in r["stages"].items():
            cpu = r["stages_cpu"][name]
            print(
                f"    {name:20s} {secs:7.2f} s  ({100 * secs / r['run_s']:5.1f}%)   CPU {cpu:7.2f} s "
                f"({100 * cpu / r['cpu_s']:5.1f}%)"
            )
        if "parse" in r.get("stages_cpu", {}):
            parse_cpu = r["stages_cpu"]["parse"]
            print(f"    all stages / parse stage, CPU seconds: x{r['cpu_s'] / parse_cpu:.2f}")


if __name__ == "__main__":
    main()
