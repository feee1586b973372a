"""Normalisation and tokenisation (kuaiban.routing.text)."""

from __future__ import annotations

import csv
import importlib.metadata
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaiban.routing.text import (
    STOP_WORDS,
    canonical,
    char_shingles,
    compact,
    despace,
    normalize,
    segment,
    to_simplified,
    tokenize,
)


def test_normalize_traditional_to_simplified() -> None:
    assert normalize("醫療保險") == "医疗保险"
    assert normalize("請問幸福里小區的垃圾什麼時候清運？") == "请问幸福里小区的垃圾什么时候清运?"


def test_phrase_only_traditional_is_converted() -> None:
    # Neither 覆 nor 瞭 changes on its own; only the phrase dictionary converts them.
    assert to_simplified("已經回覆") == "已经回复"
    assert to_simplified("我瞭解了") == "我了解了"


def test_simplified_text_is_left_alone() -> None:
    text = "小区垃圾一个多星期没人清运，请环卫部门尽快处理。"
    assert to_simplified(text) == text


def test_normalize_full_width_and_case() -> None:
    assert normalize("ＡＢＣ１２３！　ｘｙｚ") == "abc123! xyz"
    assert normalize("Ｗｉ－Ｆｉ信号差") == "wi-fi信号差"


def test_normalize_strips_urls_emails_and_whitespace() -> None:
    text = "  详见 https://example.org/a?b=1 或发邮件 someone@example.com \n\t 谢谢  "
    assert normalize(text) == "详见 或发邮件"


def test_normalize_strips_greeting_boilerplate() -> None:
    assert normalize("尊敬的领导：您好！小区停水三天了。") == "小区停水三天了。"
    assert normalize("尊敬 领导 您好 小区 停水") == "小区 停水"


def test_despace_joins_segmented_chinese_only() -> None:
    assert despace("小区 物业 不 管 垃圾") == "小区物业不管垃圾"
    assert despace("a9 市 wifi router 坏了") == "a9市wifi router坏了"


def test_raw_and_segmented_text_tokenize_alike() -> None:
    raw = "我们小区的物业长期不清理垃圾，垃圾桶都满了！"
    segmented = "小区 物业 长期 清理 垃圾 垃圾桶 满"
    assert tokenize(raw) == tokenize(segmented)
    assert canonical(raw) == canonical(segmented) == "小区物业长期清理垃圾垃圾桶满"


def test_tokenize_drops_stop_words_punctuation_and_single_alnum() -> None:
    tokens = tokenize("我们的学校在3月乱收费，这是不对的！A市教育局怎么办？")
    assert tokens
    assert not set(tokens) & STOP_WORDS
    assert all(re.search(r"\w", t) for t in tokens)
    assert "3" not in tokens and "a" not in tokens
    assert "乱收费" in tokens and "教育局" in tokens


def test_compact_and_shingles() -> None:
    assert compact("幸福里 小區，垃圾！") == "幸福里小区垃圾"
    assert char_shingles("垃圾清运", 3) == ["垃圾清", "圾清运"]
    assert char_shingles("，", 3) == []


_PIECES = [*"醫療保險小区垃圾请问的了，。！？ＡＢＣａｂｃ１２３ \t\nABCabc\u3000", "http://x.cn/a "]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@settings(max_examples=150, deadline=None)
@given(_TEXT)
def test_normalize_output_is_canonical(text: str) -> None:
    out = normalize(text)
    assert out == out.strip()
    assert "  " not in out and "\t" not in out and "\n" not in out
    assert not re.search(r"[\uff01-\uff5e\u3000A-Z]", out)
    assert "醫" not in out and "險" not in out


@settings(max_examples=100, deadline=None)
@given(_TEXT)
def test_tokens_have_no_stop_words_or_blanks(text: str) -> None:
    for token in tokenize(text):
        assert token.strip() == token and token
        assert token not in STOP_WORDS


_REPO = Path(__file__).resolve().parents[3]
# The shared raw corpus (see its README): 4,326 raw messages, next to the checkout when present.
_RAW_CORPUS = (
    Path(os.environ.get("KUAIBAN_ROUTING_DATA", _REPO.parent / "shared" / "data"))
    / "messages_hot_issues.csv"
)


def _fixture_texts() -> list[str]:
    fixtures = Path(__file__).parent / "fixtures"
    texts: list[str] = []
    with (fixtures / "hot_issues_labelled.csv").open(encoding="utf-8") as fh:
        texts += [" ".join(row.values()) for row in csv.DictReader(fh)]
    with (fixtures / "appeals_sample.csv").open(encoding="utf-8") as fh:
        texts += [row["text"] for row in csv.DictReader(fh)]
    return texts


def _raw_corpus() -> list[str]:
    with _RAW_CORPUS.open(encoding="utf-8") as fh:
        return [f"{row['title']}\n{row['content']}" for row in csv.DictReader(fh)]


def _spans(words: list[str]) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    start = 0
    for word in words:
        out.add((start, start + len(word)))
        start += len(word)
    return out


def _agreement(texts: list[str], label: str) -> None:
    """rjieba against jieba: identical without the HMM; with it, >= 99.5% of jieba's words."""
    import jieba

    docs = [despace(normalize(t)) for t in texts]
    assert [segment(d, hmm=False) for d in docs] == [jieba.lcut(d, HMM=False) for d in docs]
    ours = [segment(d) for d in docs]
    theirs = [jieba.lcut(d) for d in docs]
    same_words = sum(len(_spans(a) & _spans(b)) for a, b in zip(ours, theirs, strict=True))
    words = sum(len(b) for b in theirs)
    agreement = same_words / words
    identical = sum(a == b for a, b in zip(ours, theirs, strict=True))
    print(
        f"{label}: {len(docs)} texts, {words} jieba words; with HMM {agreement:.4%} of the words "
        f"agree and {identical} texts are cut identically; without HMM all identical"
    )
    assert agreement >= 0.995


def test_segment_agrees_with_jieba_on_fixtures() -> None:
    texts = [*_fixture_texts(), "", "a", "请问ＷＩＦＩ密码123abc是多少？", "𠀀𠀁生僻字和emoji😀"]
    assert len(texts) > 300
    _agreement(texts, "fixtures")
    assert "垃圾清运" in segment("幸福里小区垃圾清运不及时")


@pytest.mark.skipif(not _RAW_CORPUS.is_file(), reason=f"no shared raw corpus at {_RAW_CORPUS}")
def test_segment_agrees_with_jieba_on_the_shared_raw_corpus() -> None:
    texts = _raw_corpus()
    assert len(texts) > 4000
    _agreement(texts, "shared raw corpus")


def test_segment_modes_return_words() -> None:
    """Every mode returns words (the old ``cut_all=True`` path returned none)."""
    import jieba

    text = "我来到北京清华大学，反映幸福里小区垃圾清运不及时"
    everything = segment(text, mode="all")
    # rjieba's full mode also lists each single character; the words agree with jieba's.
    assert [w for w in everything if len(w) > 1] == [
        w for w in jieba.lcut(text, cut_all=True) if len(w) > 1
    ]
    assert {"清华", "清华大学", "华大", "大学", "垃圾", "清运"} <= set(everything)
    search = segment(text, mode="search")
    assert search == jieba.lcut_for_search(text)
    assert {"清华", "大学", "清华大学"} <= set(search)
    assert segment(text) == jieba.lcut(text)
    with pytest.raises(ValueError, match="unknown segmentation mode"):
        segment(text, mode="fast")  # type: ignore[arg-type]


def test_the_official_opencc_is_installed() -> None:
    """Both packages provide ``opencc``: the pure-Python one must not shadow the binding."""
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("opencc-python-reimplemented")
    assert importlib.metadata.version("opencc")


def test_to_simplified_undoes_simplified_to_traditional() -> None:
    """Simplified -> Traditional (OpenCC s2t) -> ``to_simplified`` gives back the text."""
    from opencc import OpenCC

    to_traditional = OpenCC("s2t")
    simplified = [normalize(t) for t in _fixture_texts()]
    traditional = [to_traditional.convert(t) for t in simplified]
    assert sum(t != s for t, s in zip(traditional, simplified, strict=True)) > 300
    back = [to_simplified(t) for t in traditional]
    chars = sum(len(s) for s in simplified)
    pairs = zip(simplified, back, strict=True)
    same = sum(a == b for s, t in pairs for a, b in zip(s, t, strict=False))
    assert same / chars > 0.999
    assert to_simplified("") == ""


_SPACED = st.lists(
    st.sampled_from([*"小区a9Z_ ，\t\n\u3000", " ", "  ", "wifi", "10"]), max_size=30
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_SPACED)
def test_despace_is_the_lookaround_rule(text: str) -> None:
    # The rule as one regular expression (slower than despace's callback on whitespace runs).
    rule = re.compile(r"(?<=[^0-9a-z\s])\s+|\s+(?=[^0-9a-z\s])")
    assert despace(text) == rule.sub("", text)


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x3000, max_codepoint=0x3001)
        | st.characters(min_codepoint=0xFF00, max_codepoint=0xFF65)
        | st.sampled_from("ab 小区"),
        max_size=30,
    )
)
def test_normalize_folds_full_width_as_nfkc(text: str) -> None:
    import unicodedata

    expected = normalize(unicodedata.normalize("NFKC", text))
    assert normalize(text) == expected
