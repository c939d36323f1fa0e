"""FNC-1 pairs for the stance model: the claim-grouped split, condensed bodies, tokenised model inputs."""

from __future__ import annotations

from dataclasses import dataclass

from tokenizers import Tokenizer

from crosscheck.corpus.stance import condense_body
from crosscheck.evaluate.stance import LABELS, Fnc1, StancePair, fnc_dir, read_fnc1, split_pairs
from training.common import DATASETS, minilm_dir

MAX_LENGTH = 192  # (headline, condensed body) word pieces incl. [CLS]/[SEP]: 95% of pairs fit whole


@dataclass
class Example:
    ids: list[int]
    type_ids: list[int]
    label: int
    stance: str


def load() -> tuple[Fnc1, dict[str, list[StancePair]]]:
    data = read_fnc1(fnc_dir(DATASETS))
    return data, split_pairs(data)


def tokenizer() -> Tokenizer:
    """The base model's tokenizer, truncating pairs as the runtime does (longest first, to MAX_LENGTH)."""
    tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_LENGTH)
    tok.no_padding()
    return tok


def examples(data: Fnc1, pairs: list[StancePair], tok: Tokenizer) -> list[Example]:
    condensed = [condense_body(p.headline, data.body(p)) for p in pairs]
    encodings = tok.encode_batch(list(zip([p.headline for p in pairs], condensed, strict=True)))
    return [
        Example(ids=e.ids, type_ids=e.type_ids, label=LABELS.index(p.stance), stance=p.stance)
        for e, p in zip(encodings, pairs, strict=True)
    ]
