"""The stage pipeline: requirements are checked when it is built, and named when missing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from crosscheck.analyze.pipeline import (
    Document,
    Layer,
    build_pipeline,
    check_order,
    declare_layer,
    declared_layers,
    register_stage,
    validate_stages,
)
from crosscheck.article import Article
from crosscheck.errors import PipelineError


class _Upper:
    name: ClassVar[str] = "upper"
    requires: ClassVar[tuple[str, ...]] = ("text",)
    provides: ClassVar[tuple[str, ...]] = ("upper",)
    layers: ClassVar[tuple[Layer, ...]] = (Layer("upper", many=False, internal=True),)

    def __call__(self, docs: Sequence[Document]) -> None:
        for d in docs:
            d.layers["upper"] = d.text.upper()


class _Count:
    name: ClassVar[str] = "count"
    requires: ClassVar[tuple[str, ...]] = ("upper",)
    provides: ClassVar[tuple[str, ...]] = ("count",)
    layers: ClassVar[tuple[Layer, ...]] = (Layer("count", many=False),)

    def __call__(self, docs: Sequence[Document]) -> None:
        for d in docs:
            d.layers["count"] = d.layers["upper"].count("KHERSON")


register_stage("test-upper")(_Upper)
register_stage("test-count")(_Count)


def test_requirements_met_in_order_run() -> None:
    pipeline = build_pipeline(["test-upper", "test-count"])
    docs = [Document(article=Article(raw="", origin="x", text="Kherson and kherson"))]
    pipeline(docs)
    assert docs[0].layers["count"] == 2
    assert docs[0].to_dict() == {"count": 2}  # internal layers are not exported


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


def test_registry_refuses_a_duplicate_stage_name() -> None:
    class _Other(_Upper):
        pass

    with pytest.raises(PipelineError, match=r"\[E012\] a stage named 'test-upper' is already registered"):
        register_stage("test-upper")(_Other)


def test_registry_refuses_a_provides_no_layer_declares() -> None:
    class _Undeclared:
        name: ClassVar[str] = "undeclared"
        requires: ClassVar[tuple[str, ...]] = ("text",)
        provides: ClassVar[tuple[str, ...]] = ("nothing-declares-this",)

        def __call__(self, docs: Sequence[Document]) -> None:
            pass

    with pytest.raises(PipelineError, match=r"\[E013\].*nothing-declares-this"):
        register_stage("test-undeclared")(_Undeclared)
    assert "test-undeclared" not in __import__("crosscheck.analyze.pipeline").analyze.pipeline.registered_stages()


def test_a_layer_name_is_declared_once() -> None:
    declare_layer(Layer("test-once", description="first"))
    with pytest.raises(PipelineError, match="E014"):
        declare_layer(Layer("test-once", description="second"))


def test_builtin_layers_are_declared_by_their_stages() -> None:
    names = [layer.name for layer in declared_layers()]
    for expected in ("entities", "quantities", "dates", "attributions", "claims", "techniques", "technique_profile"):
        assert expected in names
    assert "doc" not in names  # internal


def python_stdout(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter on this checkout's sources."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout


def test_parsing_does_not_import_torch_and_torch_still_imports_after() -> None:
    pytest.importorskip("torch")  # installed with the train extra: thinc would import it with spaCy
    code = (
        "import sys\n"
        "from crosscheck.analyze.parse import load_nlp\n"
        "doc = load_nlp()('Kherson was liberated on Friday.')\n"
        "print(len(doc), 'torch' in sys.modules)\n"
        "import torch\n"
        "print(torch.tensor([1.0, 2.0]).sum().item())\n"
    )
    assert python_stdout(code).split() == ["6", "False", "3.0"]


def test_the_analysis_imports_no_evaluation_code_and_eval_still_lists_every_command() -> None:
    code = (
        "import sys\n"
        "import crosscheck.cli\n"
        "from crosscheck.runners.base import load_pipeline\n"
        "load_pipeline(['parse', 'entities', 'quantities'])\n"
        "print(sorted(m for m in ('scipy', 'datasketch', 'crosscheck.evaluate.reuse') if m in sys.modules))\n"
    )
    assert python_stdout(code).strip() == "[]"
    from click.testing import CliRunner

    from crosscheck.cli import main

    listed = CliRunner().invoke(main, ["eval", "--help"])
    assert listed.exit_code == 0
    for name in ("attribution", "checkworthiness", "cleaning", "reuse", "stance", "stories", "techniques"):
        assert f"  {name} " in listed.output
    assert CliRunner().invoke(main, ["eval", "reuse", "--help"]).exit_code == 0


def test_spacy_batches_are_bounded_in_texts_and_characters_and_keep_the_order() -> None:
    from crosscheck.analyze.parse import text_batches

    lengths = [3_000, 4_000, 2_000, 30_000, 1_000, 1_000, 1_000, 1_000, 1_000, 11_000, 500]
    batches = text_batches(lengths, 4, 12_000)
    assert batches == [[0, 1, 2], [3], [4, 5, 6, 7], [8, 9], [10]]
    assert [i for batch in batches for i in batch] == list(range(len(lengths)))
    assert text_batches([], 4, 12_000) == []


def test_a_doc_does_not_depend_on_the_texts_parsed_with_it(example_texts: dict[str, str]) -> None:
    from crosscheck.analyze.parse import load_nlp

    nlp = load_nlp()
    texts = list(example_texts.values())

    def parsed(doc: object) -> list[tuple[str, str, int, str]]:
        return [(t.tag_, t.dep_, t.head.i, t.ent_type_) for t in doc]  # type: ignore[attr-defined]

    together = [parsed(d) for d in nlp.pipe(texts, batch_size=len(texts))]
    alone = [parsed(nlp(t)) for t in texts]
    assert together == alone


def test_doc_text_is_the_parsed_text_joined_once() -> None:
    from crosscheck.analyze.parse import ParseStage, load_nlp
    from crosscheck.analyze.pipeline import DOC_TEXT_KEY, doc_text

    text = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.txt"))[0].read_text("utf-8")
    document = Document(article=Article(raw=text, origin="t", text=text))
    ParseStage()([document])
    assert document.doc is not None
    assert document.doc.user_data[DOC_TEXT_KEY] is document.text
    assert doc_text(document.doc) == document.doc.text == text
    # A Doc made elsewhere gets its text joined on the first call and kept.
    other = load_nlp()("Two words. And a sentence.")
    assert DOC_TEXT_KEY not in other.user_data
    assert doc_text(other) == "Two words. And a sentence." == other.user_data[DOC_TEXT_KEY]
