"""Write src/crosscheck/data/stopwords.json from spaCy's language data (so cleaning never imports spaCy).

Run: python -m training.stopwords.build
"""

from __future__ import annotations

import json
from pathlib import Path

from spacy.util import get_lang_class

#: Languages of the pages Crosscheck expects: European languages, Russian and Ukrainian, and a few neighbours.
LANGUAGES = (
    "en", "de", "fr", "es", "it", "pt", "nl", "ru", "uk", "pl", "cs", "sk", "sl", "hr", "sr", "bg", "ro",
    "hu", "fi", "sv", "da", "nb", "et", "lv", "lt", "el", "tr", "ar", "he", "fa", "be", "ka", "hy", "az",
)  # fmt: skip
OUT = Path(__file__).resolve().parents[2] / "src" / "crosscheck" / "data" / "stopwords.json"


def main() -> None:
    data: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        try:
            words = get_lang_class(lang).Defaults.stop_words
        except ImportError:
            continue
        if words:
            data[lang] = sorted({w.lower() for w in words})
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
    print(f"{len(data)} languages, {sum(map(len, data.values()))} words -> {OUT}")


if __name__ == "__main__":
    main()
