"""The stage pipeline: requirements are checked when it is built, and named when missing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pytest

from crosscheck.analyze.pipeline import Document, build_pipeline, check_order, register_stage, validate_stages
from crosscheck.article import Article
from crosscheck.errors import PipelineError


class _Upper:
    name: ClassVar[str] = "upper"
    requires: ClassVar[tuple[str, ...]] = ("text",)
    provides: ClassVar[tuple[str, ...]] = ("upper",)

    def __call__(self, docs: Sequence[Document]) -> None:
        for d in docs:
            d.extra["upper"] = d.text.upper()


class _Count:
    name: ClassVar[str] = "count"
    requires: ClassVar[tuple[str, ...]] = ("upper",)
    provides: ClassVar[tuple[str, ...]] = ("count",)

    def __call__(self, docs: Sequence[Document]) -> None:
        for d in docs:
            d.extra["count"] = d.extra["upper"].count("KHERSON")


register_stage("test-upper")(_Upper)
register_stage("test-count")(_Count)


def test_requirements_met_in_order_run() -> None:
    pipeline = build_pipeline(["test-upper", "test-count"])
    docs = [Document(article=Article(raw="", origin="x", text="Kherson and kherson"))]
    pipeline(docs)
    assert docs[0].extra["count"] == 2


def test_missing_requirement_is_named_with_its_provider() -> None:
    with pytest.raises(PipelineError) as info:
        validate_stages(["test-count", "test-upper"])
    assert "stage 'count' requires ['upper']" in str(info.value)
    assert "'upper' comes from upper" in str(info.value)


def test_unknown_stage_lists_the_known_ones() -> None:
    with pytest.raises(PipelineError, match="unknown stage"):
        build_pipeline(["parse", "no-such-stage"])


def test_builtin_stage_order_is_valid_and_claims_need_their_inputs() -> None:
    from crosscheck.runners.local import DEFAULT_STAGES

    validate_stages(DEFAULT_STAGES)
    with pytest.raises(PipelineError, match="'claims' requires"):
        validate_stages(["parse", "claims"])


def test_check_order_with_nothing_missing() -> None:
    check_order([_Upper(), _Count()])
