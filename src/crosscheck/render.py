"""Terminal rendering of an article with its spans marked (``crosscheck show``). Returns strings; never prints."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import click

from .analyze.pipeline import declared_layers
from .article import Removed

#: The layers ``crosscheck show`` marks unless told otherwise.
LAYERS = ("techniques", "entities", "quantities", "dates")


def styles() -> dict[str, dict[str, Any]]:
    """How each declared layer is drawn in a terminal (the layer's ``style``); with colour off, spans are bracketed
    and numbered instead."""
    return {layer.name: layer.style for layer in declared_layers() if layer.style is not None}


def _bounds(layer: str, item: dict[str, Any]) -> tuple[int, int] | None:
    declared = {d.name: d for d in declared_layers()}.get(layer)
    return declared.span_of(item) if declared else None


def _segments(text: str, spans: Sequence[tuple[int, int, str]]) -> list[tuple[str, frozenset[str]]]:
    """Cut text at every span edge; each piece carries the set of layers covering it."""
    cuts = {0, len(text)}
    for start, end, _ in spans:
        cuts.update((max(0, min(start, len(text))), max(0, min(end, len(text)))))
    edges = sorted(cuts)
    out = []
    for a, b in itertools.pairwise(edges):
        if a == b:
            continue
        layers = frozenset(layer for s, e, layer in spans if s <= a and b <= e)
        out.append((text[a:b], layers))
    return out


def mark_text(
    text: str, analysis: dict[str, Any], *, layers: Sequence[str] = LAYERS, color: bool = True
) -> tuple[str, list[str]]:
    """The text with spans of ``layers`` marked, and numbered notes for the technique spans."""
    spans = [
        (*bounds, layer)
        for layer in layers
        for i in analysis.get(layer, [])
        if isinstance(analysis.get(layer), list) and (bounds := _bounds(layer, i)) is not None
    ]
    drawn = styles()
    notes: list[str] = []
    if not color:
        return _bracketed(text, analysis, layers, notes), notes
    out: list[str] = []
    technique_starts = {
        int(t["start"]): n for n, t in enumerate(analysis.get("techniques", []), start=1) if "techniques" in layers
    }
    position = 0
    for piece, covering in _segments(text, spans):
        if position in technique_starts:
            out.append(click.style(f"[{technique_starts[position]}]", fg="red", dim=True))
        style: dict[str, Any] = {}
        for layer in layers:
            if layer in covering and layer in drawn:
                style = {**drawn[layer], **style}
        out.append(click.style(piece, **style) if style else piece)
        position += len(piece)
    for n, t in enumerate(analysis.get("techniques", []), start=1):
        if "techniques" in layers:
            notes.append(_technique_note(n, t))
    return "".join(out), notes


def _technique_note(n: int, t: dict[str, Any]) -> str:
    triggers = ", ".join(t.get("triggers") or [])
    note = f"[{n}] {t['technique']} ({t['score']:.2f}): {t.get('text', '')!r}"
    if t.get("explanation"):
        note += f" — {t['explanation']}"
    if triggers:
        note += f" (triggered by: {triggers})"
    return note


def _bracketed(text: str, analysis: dict[str, Any], layers: Sequence[str], notes: list[str]) -> str:
    """Plain rendering: ⟦span⟧{label} markers inserted at span edges (innermost last)."""
    inserts: list[tuple[int, int, str]] = []  # (position, order, marker)
    for layer in layers:
        items = analysis.get(layer)
        for n, item in enumerate(items if isinstance(items, list) else [], start=1):
            bounds = _bounds(layer, item)
            if bounds is None:
                continue
            label = _label(layer, item, n)
            inserts.append((bounds[0], 1, "⟦"))
            inserts.append((bounds[1], 0, f"⟧{{{label}}}"))
            if layer == "techniques":
                notes.append(_technique_note(n, item))
    out = []
    last = 0
    for pos, _, marker in sorted(inserts, key=lambda x: (x[0], x[1])):
        out.append(text[last:pos])
        out.append(marker)
        last = pos
    out.append(text[last:])
    return "".join(out)


def _label(layer: str, item: dict[str, Any], n: int) -> str:
    if layer == "techniques":
        return f"{n}:{item['technique']}"
    if layer == "entities":
        return str(item.get("canonical") or item["label"]) if item.get("lat") is not None else str(item["label"])
    if layer == "quantities":
        return f"{item.get('value')} {item.get('unit') or ''}".strip()
    declared = {d.name: d for d in declared_layers()}.get(layer)
    if declared and declared.label and item.get(declared.label) is not None:
        return str(item[declared.label])
    return str(item.get("value") or layer)


def mark_removed(raw: str, removed: Sequence[Removed], *, color: bool = True) -> str:
    """The raw page with every removed piece marked with its kind."""
    out = []
    last = 0
    style: Callable[[str], str] = (lambda s: click.style(s, dim=True, strikethrough=True)) if color else (lambda s: s)
    for piece in sorted(removed, key=lambda r: r.start):
        out.append(raw[last : piece.start])
        tag = f"[removed: {piece.kind}]"
        out.append(click.style(tag, fg="blue") if color else tag)
        out.append(style(raw[piece.start : piece.end]) if color else f"⟦{raw[piece.start : piece.end]}⟧")
        last = piece.end
    out.append(raw[last:])
    return "".join(out)
