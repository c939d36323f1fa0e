"""Terminal rendering of an article with its spans marked (``crosscheck show``). Returns strings; never prints.

Article text is data from anywhere: before it reaches a terminal, :func:`terminal_safe` shows every character that
could move the cursor, rewrite the screen, set the window title or reorder the line (escape sequences, other
controls, bidirectional overrides) as a visible stand-in, and :class:`TerminalWriter` does the same for everything a
command writes to a terminal, letting through only the colour codes of its own styling.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import IO, Any

import click

from .analyze.pipeline import declared_layers
from .article import Removed

#: The layers ``crosscheck show`` marks unless told otherwise.
LAYERS = ("techniques", "entities", "quantities", "dates")

#: Characters a terminal acts on instead of showing: C0 controls but tab and line feed, delete, C1 controls (U+009B
#: is a one-character CSI, U+009D an OSC), and the bidirectional embeddings, overrides and isolates that reorder how
#: the rest of a line is drawn (the "Trojan Source" characters).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: The same, with carriage return allowed (progress bars on standard error redraw their line with it).
_UNSAFE_BUT_CR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: A colour or style code (Select Graphic Rendition), the only escape sequence a command writes itself.
_SGR = re.compile("\x1b\\[[0-9;]*m")
_RESETS = frozenset({"\x1b[0m", "\x1b[m"})


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␛ for escape, ␀ for NUL, ␍ for carriage return
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"


def terminal_safe(text: str, *, carriage_return: bool = False) -> str:
    """``text`` with every character a terminal would act on shown as a visible stand-in, one for one (so span
    offsets stay valid): C0 controls (tab and line feed kept) as Control Pictures (``␛`` for escape), delete as
    ``␡``, C1 controls and bidirectional embeddings, overrides and isolates as U+FFFD."""
    return (_UNSAFE_BUT_CR if carriage_return else _UNSAFE).sub(_stand_in, text)


class TerminalWriter:
    """A text stream over a terminal that writes everything through :func:`terminal_safe`, except colour codes;
    :meth:`finish` resets the colours when a code was left on (so no styling outlives the command)."""

    def __init__(self, stream: IO[str], *, carriage_return: bool = False) -> None:
        self.stream = stream
        self.carriage_return = carriage_return
        self.styled = False

    def write(self, text: str) -> int:
        out: list[str] = []
        last = 0
        for code in _SGR.finditer(text):
            out.append(terminal_safe(text[last : code.start()], carriage_return=self.carriage_return))
            out.append(code.group())
            self.styled = code.group() not in _RESETS
            last = code.end()
        out.append(terminal_safe(text[last:], carriage_return=self.carriage_return))
        self.stream.write("".join(out))
        return len(text)

    def finish(self) -> None:
        if self.styled:
            self.stream.write("\x1b[0m")
            self.styled = False
        self.stream.flush()

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:  # flush, fileno, encoding, errors ...: the terminal's own
        return getattr(self.stream, name)


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
    """The text with spans of ``layers`` marked, and numbered notes for the technique spans (the text made
    :func:`terminal_safe` first, which keeps every offset)."""
    text = terminal_safe(text)
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
    """The raw page with every removed piece marked with its kind (made :func:`terminal_safe` first)."""
    raw = terminal_safe(raw)
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
