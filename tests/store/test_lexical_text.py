"""The aux index text: CJK characters and camelCase parts, and nothing for plain prose."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rlm.store.lexical_text import aux_index_text, split_identifier

_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CAMEL = re.compile(r"[a-z0-9][A-Z]")


def reference(content: str) -> str | None:
    """The definition, without any of the fast paths."""
    parts = [" ".join(run) for run in _CJK.findall(content)]
    parts += [" ".join(split_identifier(w)) for w in _WORD.findall(content) if _CAMEL.search(w)]
    return " \u2063 ".join(parts) if parts else None


def test_examples() -> None:
    assert aux_index_text("plain prose, with “quotes” and café.") is None
    assert aux_index_text("東京 is big") == "東 京"
    assert aux_index_text("call parseConfig() now") == "parse Config"
    assert aux_index_text("ｶﾀｶﾅ € — no CJK here") is None  # half-width kana: not indexed


SPECIALS = ["é", "“", "—", "€", "東", "京", "カ", "한", "豈", "\uff76", "😀", "\u3000", "\ud800"]
ALPHABET = st.sampled_from([*"abcXYZ09 _.\n3Rs", *SPECIALS])


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_fast_paths_change_nothing(content: str) -> None:
    assert aux_index_text(content) == reference(content)
