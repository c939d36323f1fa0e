"""The analysis pipeline: named stages that declare what they require and provide.

One :class:`Document` passes through every stage. A stage works on a batch of documents at once (so spaCy can
``nlp.pipe`` and models can batch), adds its results to each document, and declares by name what it needs before it
runs (``requires``) and what it adds (``provides``). :func:`build_pipeline` checks those declarations when the
pipeline is built and names whatever is missing, before any article is touched.

Stages register themselves by name with :func:`register_stage`; :func:`build_pipeline` looks them up, creates each
once (models load once per process) and orders nothing itself: the caller's order is checked, not changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

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


@dataclass
class Document:
    """An article under analysis: the article, its parse and everything the stages found in it."""

    article: Article
    doc: Doc | None = None
    entities: list[Entity] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    dates: list[TimeExpression] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    techniques: list[Technique] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.article.text

    def to_dict(self) -> dict[str, Any]:
        """The analysis fields of the export contract."""
        return {
            "entities": [e.to_dict() for e in self.entities],
            "quantities": [q.to_dict() for q in self.quantities],
            "dates": [d.to_dict() for d in self.dates],
            "attributions": [a.to_dict() for a in self.attributions],
            "claims": [c.to_dict() for c in self.claims],
            "techniques": [t.to_dict() for t in self.techniques],
            **({"profile": self.extra["profile"]} if "profile" in self.extra else {}),
        }


class Stage(Protocol):
    """What every analysis stage looks like."""

    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]]
    provides: ClassVar[tuple[str, ...]]

    def __call__(self, docs: Sequence[Document]) -> None:
        """Add this stage's results to each document, in place."""


StageFactory = Callable[..., Stage]
_REGISTRY: dict[str, StageFactory] = {}

#: What every document has before any stage runs.
BASE_PROVIDES = ("article", "text")


def register_stage(name: str) -> Callable[[StageFactory], StageFactory]:
    """Register a stage factory (a class or a function returning a stage) under ``name``."""

    def wrap(factory: StageFactory) -> StageFactory:
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
        raise PipelineError("E010", "; ".join(problems))


def validate_stages(names: Sequence[str]) -> None:
    """Check a stage list (names known, requirements met in order) without creating any stage or loading a model."""
    _load_builtin_stages()
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise PipelineError("E011", f"unknown stage(s) {unknown}; known: {sorted(_REGISTRY)}")
    check_order([_REGISTRY[n] for n in names])  # type: ignore[misc]  # stage classes carry the same ClassVars


def build_pipeline(names: Sequence[str], **options: Any) -> Pipeline:
    """Create the named stages (each once) and check that every requirement is met in order.

    ``options`` maps a stage name to a dict of keyword options for its factory.
    """
    validate_stages(names)
    stages = [_REGISTRY[n](**options.get(n, {})) for n in names]
    check_order(stages)
    return Pipeline(stages)
