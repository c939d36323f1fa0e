"""Putting an array form of spaCy components in their place in a pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language


def install_component(
    nlp: Language, name: str, build: Callable[[Language], Any | None], replaces: Sequence[str], what: str
) -> bool:
    """Put the component ``build(nlp)`` makes, registered as factory ``name``, where the first of ``replaces`` is,
    and remove ``replaces``; False, and ``nlp`` unchanged, where ``build`` returns ``None`` (the pipeline's
    components are not of the kind it supports). ``what`` names them in the factory's error."""
    if build(nlp) is None:
        return False
    from spacy.language import Language

    if not Language.has_factory(name):

        def factory(nlp: Language, name: str) -> Any:
            component = build(nlp)
            if component is None:
                raise ValueError(f"{name}: the pipeline has no {what} of the supported kind")
            return component

        Language.factory(name, func=factory)
    nlp.add_pipe(name, before=replaces[0])
    for replaced in replaces:
        nlp.remove_pipe(replaced)
    return True
