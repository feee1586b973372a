"""Normalisation and tokenisation (kuaiban.routing.text)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from kuaiban.routing.text import (
    STOP_WORDS,
    canonical,
    char_shingles,
    compact,
    despace,
    normalize,
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


def test_segmenter_cuts_exactly_like_jieba() -> None:
    """The one-pass best-path search gives jieba's own tokens, with and without its HMM."""
    import csv
    from pathlib import Path

    import jieba

    from kuaiban.routing.text import _segmenter

    fixtures = Path(__file__).parent / "fixtures"
    texts: list[str] = []
    with (fixtures / "hot_issues_labelled.csv").open(encoding="utf-8") as fh:
        texts += [" ".join(row.values()) for row in csv.DictReader(fh)]
    with (fixtures / "appeals_sample.csv").open(encoding="utf-8") as fh:
        texts += [row["text"] for row in csv.DictReader(fh)]
    texts += [
        "",
        "a",
        "请问ＷＩＦＩ密码123abc是多少？",
        "𠀀𠀁生僻字和emoji😀",
        "城关二小乱收费，家长意见很大",
    ]
    docs = [despace(normalize(t)) for t in texts]
    assert len(docs) > 300
    segmenter = _segmenter()
    for hmm in (True, False):
        ours = [segmenter.lcut(d, HMM=hmm) for d in docs]
        assert ours == [jieba.lcut(d, HMM=hmm) for d in docs]
    assert "垃圾清运" in segmenter.lcut("幸福里小区垃圾清运不及时")


def _fixture_texts() -> list[str]:
    import csv
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    with (fixtures / "hot_issues_labelled.csv").open(encoding="utf-8") as fh:
        return [" ".join(row.values()) for row in csv.DictReader(fh)]


def test_to_simplified_converts_like_opencc() -> None:
    """Converting only the pieces with Traditional characters gives OpenCC's whole-text result."""
    from opencc import OpenCC

    to_traditional, t2s = OpenCC("s2t"), OpenCC("t2s")
    simplified = _fixture_texts()
    traditional = [to_traditional.convert(t) for t in simplified]
    # Half-converted texts too: Traditional and Simplified pieces side by side.
    mixed = [
        a[: len(a) // 2] + b[len(b) // 2 :] for a, b in zip(traditional, simplified, strict=True)
    ]
    texts = traditional + mixed
    texts += ["已經回覆，我瞭解了。請問幸福里小區的垃圾什麼時候清運？", "𠀀醫療，保險 \t乾淨"]
    assert sum(t != t2s.convert(t) for t in texts) > 100
    assert [to_simplified(t) for t in texts] == [t2s.convert(t) for t in texts]


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
