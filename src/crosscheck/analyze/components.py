"""Putting an array form of spaCy components in their place in a pipeline, and running their products on one BLAS
thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language


def install_component(
    nlp: Language, name: str, build: Callable[[Language], Any | None], replaces: Sequence[str], what: str
) -> bool:
    """Put the component ``build(nlp)`` makes, registered as factory ``name``, where the first of ``replaces`` is,
    and remove ``replaces``; False, and ``nlp`` unchanged, where ``build`` returns ``None`` (the pipeline's
    components are not of the kind it supports). ``what`` names them in the factory's error."""
    component = build(nlp)
    if component is None:
        return False
    from spacy.language import Language

    if not Language.has_factory(name):

        def factory(nlp: Language, name: str) -> Any:
            # The component install_component has just built (spaCy makes components through a factory only).
            built = _pending.pop(id(nlp), None) or build(nlp)
            if built is None:
                raise ValueError(f"{name}: the pipeline has no {what} of the supported kind")
            return built

        Language.factory(name, func=factory)
    _pending[id(nlp)] = component
    try:
        nlp.add_pipe(name, before=replaces[0])
    finally:
        _pending.pop(id(nlp), None)
    for replaced in replaces:
        nlp.remove_pipe(replaced)
    return True


#: The component :func:`install_component` is adding, by pipeline, so that it is built once.
_pending: dict[int, Any] = {}


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context in which numpy's BLAS runs on one thread: its threads spin between the pipeline's small products
    (CPU time spent on nothing) and contend with the other workers for the cores."""
    return _blas_controller().limit(limits=1, user_api="blas")
