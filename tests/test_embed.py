"""The shipped sentence encoder (``models/sentence-encoder``): closeness of real sentences, batch independence."""

from __future__ import annotations

import numpy as np
import pytest

from crosscheck.corpus.embed import DIMENSIONS, embed, load_encoder

# Two sentences of examples/kherson-liberated.txt, a paraphrase of the first, and unrelated news sentences.
FLED = "Russian troops had fled the regional center, and the Ukrainian military entered it."
PARAPHRASE = "Russian forces abandoned the city of Kherson and Ukrainian soldiers moved in."
SAME_STORY = "Residents of Kherson lined the streets with Ukrainian flags as they awaited the arrival of the army."
UNRELATED = [
    "The central bank raised its main interest rate by half a percentage point on Thursday.",
    "The striker scored twice in the second half to win the cup final.",
    "Apple unveiled a new smartwatch with a larger screen and longer battery life.",
]

pytestmark = pytest.mark.slow


def test_rows_are_unit_float32_vectors() -> None:
    vectors = embed([FLED, PARAPHRASE, *UNRELATED])
    assert vectors.dtype == np.float32
    assert vectors.shape == (5, DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embed([]).shape == (0, DIMENSIONS)


def test_paraphrase_and_same_story_are_closer_than_unrelated_news() -> None:
    anchor, paraphrase, story, *others = embed([FLED, PARAPHRASE, SAME_STORY, *UNRELATED])
    unrelated = max(float(anchor @ other) for other in others)
    assert float(anchor @ paraphrase) > unrelated + 0.3
    assert float(anchor @ story) > unrelated + 0.1
    assert float(anchor @ paraphrase) > float(anchor @ story)


@pytest.mark.usefixtures("no_model_cache")
def test_a_text_gets_the_same_vector_whatever_else_is_in_the_batch() -> None:
    alone = embed([FLED])[0]
    long_batch = embed([UNRELATED[0] * 6, FLED, "Kherson."])
    reordered = embed([*UNRELATED, SAME_STORY, FLED])
    assert np.array_equal(long_batch[1], alone)
    assert np.array_equal(reordered[-1], alone)


def test_texts_of_one_length_are_encoded_together_and_get_the_vectors_they_get_alone() -> None:
    model = load_encoder()
    texts = [f"Ukrainian troops entered Kherson on day {n} of the counteroffensive." for n in range(10, 30)]
    assert len({len(model.tokenizer.encode(t).ids) for t in texts}) == 1
    batched = model.uncached()
    runs: list[int] = []
    run = batched.run
    batched.run = lambda feeds: runs.append(len(feeds["input_ids"])) or run(feeds)  # type: ignore[method-assign]
    together = embed(texts, model=batched)
    assert runs == [len(texts)]  # one batch
    alone = np.stack([embed([t], model=model.uncached())[0] for t in texts])
    assert np.array_equal(together, alone)


def test_a_repeated_text_is_encoded_once_and_gets_the_same_vector() -> None:
    model = load_encoder()
    counting = model.uncached()
    runs: list[int] = []
    run = counting.run
    counting.run = lambda feeds: runs.append(len(feeds["input_ids"])) or run(feeds)  # type: ignore[method-assign]
    first = embed([FLED, SAME_STORY, FLED], model=counting)
    assert runs == [1, 1]  # each distinct text once (the two differ in length, so not in one batch)
    again = embed([SAME_STORY, FLED], model=counting)
    assert runs == [1, 1]
    assert np.array_equal(first[0], first[2]) and np.array_equal(again[1], first[0])
    assert np.array_equal(again[0], first[1])
    assert np.array_equal(first[0], embed([FLED], model=model.uncached())[0])


def test_a_claim_scored_for_check_worthiness_is_embedded_from_the_same_trunk_pass() -> None:
    from crosscheck.analyze.claims import load_checkworthiness, score_sentences

    encoder, checkworthiness = load_encoder(), load_checkworthiness()
    trunk = encoder.trunk
    assert trunk is not None and checkworthiness.trunk is trunk  # one trunk session and cache for both heads
    sentence = "Ukrainian forces recaptured 41 settlements on the west bank of the Dnipro, the general staff said."
    expected = embed([sentence], model=encoder.uncached())
    assert all((sentence, None) not in model.cache for model in (trunk, encoder, checkworthiness))
    calls: list[int] = []
    run = trunk.run
    trunk.run = lambda feeds: calls.append(len(feeds["input_ids"])) or run(feeds)  # type: ignore[method-assign]
    try:
        score_sentences([sentence], model=checkworthiness)
        vector = embed([sentence], model=encoder)
    finally:
        del trunk.run
    assert calls == [1]  # the claims stage's pass serves the embedding
    assert np.array_equal(vector[0], expected[0])  # and gives the vector a cold cache gives
