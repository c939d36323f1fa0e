"""The analysis pipeline: named stages that declare what they require and provide.

One :class:`Document` passes through every stage. A stage works on a batch of documents at once (so spaCy can
``nlp.pipe`` and models can batch), adds its results to each document, and declares by name what it needs before it
runs (``requires``) and what it adds (``provides``). :func:`build_pipeline` checks those declarations when the
pipeline is built and names whatever is missing, before any article is touched.

Stages register themselves by name with :func:`register_stage`; :func:`build_pipeline` looks them up, creates each
once (models load once per process) and orders nothing itself: the caller's order is checked, not changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, overload

import numpy as np

from ..article import (
    Article,
    Attribution,
    Claim,
    Entity,
    Quantity,
    Technique,
    TimeExpression,
)
from ..errors import PipelineError

if TYPE_CHECKING:
    from spacy.tokens import Doc

T = TypeVar("T")


@dataclass(frozen=True)
class Layer:
    """A kind of result that a stage adds to a document, declared once by the stage that provides it.

    The store, the exports, the terminal renderer and the corpus report loop over the declared layers, so a new
    stage touches only its own module.

    ``name`` is the export key. ``many``: a list of records (each with ``to_dict()``), else one JSON object.
    ``label``: the record field stored as the span row's label; ``span``: for records whose span is a nested role
    (attributions: ``"content"``), the field holding it; ``spans``: whether the records are stored as span rows.
    ``style``: how ``crosscheck show`` draws its spans in a terminal (click style keywords), None when it is not
    drawn. ``internal`` layers (the parse, sentences) are requirements between stages, never exported.
    """

    name: str
    many: bool = True
    label: str | None = None
    span: str | None = None
    spans: bool = False
    style: dict[str, Any] | None = None
    internal: bool = False
    description: str = ""

    def span_of(self, item: dict[str, Any]) -> tuple[int, int] | None:
        """The (start, end) of an exported record, or None when it has no span."""
        holder = item.get(self.span) if self.span else item
        if not isinstance(holder, dict) or "start" not in holder:
            return None
        return int(holder["start"]), int(holder["end"])


_LAYERS: dict[str, Layer] = {}


def declare_layer(layer: Layer) -> Layer:
    """Declare a layer (once per name). Returns it, so a stage module can keep it as a constant."""
    if layer.name in _LAYERS and _LAYERS[layer.name] != layer:
        raise PipelineError("E014", name=layer.name)
    _LAYERS[layer.name] = layer
    return layer


def declared_layers(*, exported: bool = True) -> list[Layer]:
    """Every declared layer in declaration order (built-in stages loaded first); by default the exported ones."""
    _load_builtin_stages()
    return [layer for layer in _LAYERS.values() if not (exported and layer.internal)]


def layer(name: str) -> Layer:
    _load_builtin_stages()
    return _LAYERS[name]


#: What every document has before any stage runs.
BASE_PROVIDES = ("article", "text")
for _name in BASE_PROVIDES:
    declare_layer(Layer(_name, many=False, internal=True, description="the article itself"))


class LayerField(Generic[T]):
    """A typed attribute of :class:`Document` kept in its ``layers`` dict (``document.entities`` and the like)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> LayerField[T]: ...
    @overload
    def __get__(self, obj: Document, owner: type) -> list[T]: ...
    def __get__(self, obj: Document | None, owner: type) -> LayerField[T] | list[T]:
        if obj is None:
            return self
        value: list[T] = obj.layers.setdefault(self.name, [])
        return value

    def __set__(self, obj: Document, value: list[T]) -> None:
        obj.layers[self.name] = value


#: Where :func:`doc_text` keeps a Doc's text (in ``Doc.user_data``).
DOC_TEXT_KEY = "crosscheck.text"


def doc_text(doc: Doc) -> str:
    """``doc.text``, joined once per Doc: spaCy joins every token's text again on each access (a Token object made
    for each), and the rule stages read the text of each Doc several times. The parse stage stores the text it parsed
    (a Doc's text is exactly its input's)."""
    text = doc.user_data.get(DOC_TEXT_KEY)
    if text is None:
        text = doc.user_data[DOC_TEXT_KEY] = doc.text
    return str(text)


#: Where :func:`token_bounds` keeps a Doc's token offsets (in ``doc.user_data``).
TOKEN_BOUNDS_KEY = "crosscheck.token_bounds"


def token_bounds(doc: Doc) -> tuple[list[int], list[int], list[bool]]:
    """Each token's start and end offsets in the Doc's text and whether it is whitespace, read from the Doc's arrays
    once per Doc (a ``Token`` object per token and access otherwise)."""
    cached = doc.user_data.get(TOKEN_BOUNDS_KEY)
    if cached is None:
        from spacy.attrs import IDX, IS_SPACE, LENGTH

        table = doc.to_array([IDX, LENGTH, IS_SPACE]).reshape(-1, 3).astype(np.int64)
        starts = table[:, 0].tolist()
        ends = (table[:, 0] + table[:, 1]).tolist()
        cached = doc.user_data[TOKEN_BOUNDS_KEY] = (starts, ends, (table[:, 2] != 0).tolist())
    return cached


class Document:
    """An article under analysis: the article, its parse and every layer the stages found in it.

    ``layers`` maps a declared layer's name to its records; the built-in ones are also typed attributes
    (``document.entities``). A new stage reads and writes ``document.layers[NAME]``.
    """

    entities = LayerField[Entity]("entities")
    quantities = LayerField[Quantity]("quantities")
    dates = LayerField[TimeExpression]("dates")
    attributions = LayerField[Attribution]("attributions")
    claims = LayerField[Claim]("claims")
    techniques = LayerField[Technique]("techniques")

    def __init__(self, article: Article, doc: Doc | None = None, **layers: Any) -> None:
        """``layers``: records to start from, by layer name (``Document(article, entities=[...])``)."""
        self.article = article
        self.doc = doc
        self.layers: dict[str, Any] = dict(layers)
        self.extra: dict[str, Any] = {}

    @property
    def text(self) -> str:
        return self.article.text

    def to_dict(self) -> dict[str, Any]:
        """The analysis fields of the export contract: every exported layer a stage filled in."""
        out: dict[str, Any] = {}
        for declared in declared_layers():
            if declared.name not in self.layers:
                continue
            value = self.layers[declared.name]
            out[declared.name] = [_record_dict(r) for r in value] if declared.many else _record_dict(value)
        return out


def _record_dict(record: Any) -> Any:
    return record.to_dict() if hasattr(record, "to_dict") else record


class Stage(Protocol):
    """What every analysis stage looks like."""

    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]]
    provides: ClassVar[tuple[str, ...]]

    def __call__(self, docs: Sequence[Document]) -> None:
        """Add this stage's results to each document, in place."""


StageFactory = Callable[..., Stage]
_REGISTRY: dict[str, StageFactory] = {}


def register_stage(name: str) -> Callable[[StageFactory], StageFactory]:
    """Register a stage factory (a class or a function returning a stage) under ``name``.

    The factory's ``layers`` (a tuple of :class:`Layer`) are declared; every name in its ``provides`` must be a
    declared layer, and no other stage may have the same name.
    """

    def wrap(factory: StageFactory) -> StageFactory:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise PipelineError("E012", name=name)
        for declared in getattr(factory, "layers", ()):
            declare_layer(declared)
        undeclared = [p for p in getattr(factory, "provides", ()) if p not in _LAYERS]
        if undeclared:
            raise PipelineError("E013", name=name, undeclared=undeclared)
        _REGISTRY[name] = factory
        return factory

    return wrap


def registered_stages() -> list[str]:
    _load_builtin_stages()
    return sorted(_REGISTRY)


def stage_info() -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(name, requires, provides) of every registered stage, read from the stage classes (nothing is loaded)."""
    _load_builtin_stages()
    return [
        (n, tuple(getattr(f, "requires", ())), tuple(getattr(f, "provides", ()))) for n, f in sorted(_REGISTRY.items())
    ]


def iter_spans(data: dict[str, Any]) -> Iterator[tuple[Layer, dict[str, Any], int, int]]:
    """(layer, record, start, end) for every record of an analysis stored as a span row."""
    for declared in declared_layers():
        if not (declared.spans and declared.many):
            continue
        for item in data.get(declared.name, []):
            bounds = declared.span_of(item)
            if bounds is not None:
                yield declared, item, bounds[0], bounds[1]


def _load_builtin_stages() -> None:
    # Importing the stage modules registers them; done lazily so importing crosscheck stays light.
    from . import stages  # noqa: F401


@dataclass
class Pipeline:
    stages: list[Stage]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for stage in self.stages:
            stage(docs)
        return docs


def check_order(stages: Sequence[Stage]) -> None:
    """Raise :class:`PipelineError` naming every requirement that no earlier stage provides."""
    available = set(BASE_PROVIDES)
    problems = []
    for stage in stages:
        missing = [r for r in stage.requires if r not in available]
        if missing:
            providers = {r: [s.name for s in stages if r in s.provides] or ["no stage"] for r in missing}
            hints = "; ".join(f"'{r}' comes from {', '.join(p)}" for r, p in providers.items())
            problems.append(f"stage '{stage.name}' requires {missing} before it ({hints})")
        available.update(stage.provides)
    if problems:
        raise PipelineError("E010", problems="; ".join(problems))


def validate_stages(names: Sequence[str]) -> None:
    """Check a stage list (names known, requirements met in order) without creating any stage or loading a model."""
    _load_builtin_stages()
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise PipelineError("E011", unknown=unknown, known=sorted(_REGISTRY))
    check_order([_REGISTRY[n] for n in names])  # type: ignore[misc]  # stage classes carry the same ClassVars


def build_pipeline(names: Sequence[str], **options: Any) -> Pipeline:
    """Create the named stages (each once) and check that every requirement is met in order.

    ``options`` maps a stage name to a dict of keyword options for its factory.
    """
    validate_stages(names)
    stages = [_REGISTRY[n](**options.get(n, {})) for n in names]
    check_order(stages)
    return Pipeline(stages)
