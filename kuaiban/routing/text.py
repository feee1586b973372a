"""Text normalisation and tokenisation for routing (classifier, similar appeals, hot issues).

Real appeals arrive as raw text (punctuation, stop words, sometimes Traditional characters or
full-width forms), while the classifier's training data is pre-segmented with stop words removed.
Everything that builds features therefore goes through the same canonical pipeline, so that both
sides look alike:

    normalize  -> NFKC (full-width to half-width), Traditional to Simplified, lower case,
                  no URLs / e-mail addresses / greeting boilerplate, single spaces
    despace    -> whitespace removed wherever a CJK character is on either side
    tokenize   -> words of the de-spaced text (``segment``: rjieba, jieba's algorithm and
                  dictionary in Rust), without stop words, punctuation, single digits or
                  single latin letters
    canonical  -> the kept tokens joined without spaces (input for character n-grams)

Nothing is downloaded: OpenCC's dictionaries and rjieba's dictionary ship inside their wheels.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Literal

import rjieba

from kuaiban.core.text import to_simplified

__all__ = [
    "STOP_WORDS",
    "canonical",
    "char_shingles",
    "compact",
    "despace",
    "join_fields",
    "normalize",
    "segment",
    "to_simplified",
    "tokenize",
    "tokenize_normalized",
]


# Function words, pronouns, particles, conjunctions, adverbs of degree and filler verbs that carry
# no topic.  Written for this project; kept short on purpose (topic words such as 问题, 要求, 解决,
# 希望 stay, because the training data kept them too).
_STOP_WORDS_TEXT = """
的 地 得 之 了 着 过 吗 呢 吧 啊 呀 哦 嘛 啦 么 哈 嗯 呐 哎 唉 喂
是 在 有 和 与 及 及其 以及 或 或者 或是 并 并且 而 而且 而是 且 但 但是 可是 然而 不过
就 才 也 都 还 又 再 更 更加 很 太 非常 十分 极 极其 比较 较 最 挺 蛮 越 越来越 尤其
我 我们 你 你们 您 他 他们 她 她们 它 它们 咱 咱们 自己 本人 大家 各位 人家 别人 其 其他 其它
其中 其余 此 这 那 这个 那个 这些 那些 这样 那样 这么 那么 这里 那里 这边 那边 这种 那种
该 某 某些 某个 每 各 各种 各个 任何 所有 一切 有些 有的 哪 哪个 哪些 哪里 谁 什么 怎么 怎样
怎么样 如何 为何 为什么 何时 多少 几 是不是 难道 到底 究竟 居然 竟然 竟 果然 甚至 甚至于
被 把 让 给 对 对于 关于 向 往 从 自 自从 由 由于 因 因为 因此 所以 于是 于 以 以便 以免 为 为了
按 按照 根据 依照 依据 通过 经过 经 据 凭 随着 除了 除 另外 另 此外 同时 同 跟 比 像 如 如果
假如 若 若是 要是 如果说 即使 即便 哪怕 虽然 虽 尽管 不管 无论 只要 只有 除非 既 既然 一旦 否则
不然 然后 接着 后来 之后 以后 之前 以前 当 当时 时候 的话 来说 而言 等 等等 等到 所 之类
一个 一些 一样 一般 一下 一直 一起 一边 一再 已 已经 曾 曾经 正在 将 将要 会 能 能够 可以 可
可能 应该 应当 需要 要 想 去 来 上 下 里 中 内 外 个 位 种 次 些 点 件 们 呗 罢了
不 没 没有 不是 不会 不能 不要 不了 不得 别 未 无 非 仍 仍然 还是 还有 便 即 则 乃 亦 仅
仅仅 只 只是 刚 刚刚 马上 立即 立刻 已然 总 总是 常 经常 往往 又是 真 真的 确实 其实 当然
"""

STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split()) | {"怎么办"}

_URL_RE = re.compile(r"(?:https?://|ftp://|www\.)[^\s\u3000-\u9fff\uff00-\uffef]+", re.IGNORECASE)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ZERO_WIDTH_RE = re.compile(r"[\u200b-\u200f\u2060\ufeff]")
_FULLWIDTH = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
_FULLWIDTH_RE = re.compile("[\uff01-\uff5e\u3000]")
_WS_RE = re.compile(r"\s+")
# Greeting / closing boilerplate; whitespace between characters is allowed so that the pattern
# also matches pre-segmented text.
_BOILERPLATE_RE = re.compile(
    r"尊\s*敬\s*的?\s*(?:各\s*位\s*)?(?:领\s*导|书\s*记|市\s*长|县\s*长|主\s*任|局\s*长)"
    r"(?:\s*[:：,，]?\s*(?:您\s*好|你\s*好))?(?:\s*[!！,，.。:：])*"
    r"|此\s*致\s*敬\s*礼"
    r"|(?:非\s*常\s*)?(?:感\s*谢|谢\s*谢)(?:\s*(?:您|你|领\s*导))?\s*[!！。.]*\s*$"
)
_BOILERPLATE_HINT_RE = re.compile(r"[尊此谢]")
# Whitespace next to anything that is not a latin letter or digit is meaningless in Chinese text.
_SPACE_RUN_RE = re.compile(r"\s+")
_LATIN_OR_DIGIT = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
_WORD_CHAR_RE = re.compile(r"[^\W_]")


def normalize(text: str) -> str:
    """Canonical surface form of an appeal's text (still with its words and punctuation).

    NFKC folds full-width letters, digits and punctuation to half-width; then Traditional to
    Simplified, lower case, URLs / e-mail addresses / greeting boilerplate dropped and all runs of
    whitespace collapsed to one space.
    """
    if not text:
        return ""
    # Full-width ASCII and the ideographic space first (what NFKC would do to them, but cheaper:
    # one ``replace`` for each distinct one present); then NFKC proper only if something else is
    # left to fold.
    for char in set(_FULLWIDTH_RE.findall(text)):
        text = text.replace(char, _FULLWIDTH[char])
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH_RE.sub("", text)
    text = to_simplified(text).lower()
    # Cheap guards first: on long runs of CJK (all ``\w``) these patterns would scan a lot.
    if "://" in text or "www." in text:
        text = _URL_RE.sub(" ", text)
    if "@" in text:
        text = _EMAIL_RE.sub(" ", text)
    if _BOILERPLATE_HINT_RE.search(text):
        text = _BOILERPLATE_RE.sub(" ", text)
    return _WS_RE.sub(" ", text).strip()


def despace(text: str) -> str:
    """Remove whitespace around CJK text; keep one space only between latin words or numbers.

    Joins pre-segmented training text (``小区 物业``) back into running text (``小区物业``).
    A run of whitespace goes when the character before it or the one after it is anything but
    ``0-9`` or ``a-z``; at either end of the text, only that one neighbour counts.
    """
    if _SPACE_RUN_RE.search(text) is None:
        return text
    return _SPACE_RUN_RE.sub(_space_or_nothing, text)


def _space_or_nothing(match: re.Match[str]) -> str:
    text = match.string
    start, end = match.span()
    if start and text[start - 1] not in _LATIN_OR_DIGIT:
        return ""
    if end < len(text) and text[end] not in _LATIN_OR_DIGIT:
        return ""
    return match.group()


Mode = Literal["precise", "all", "search"]


def segment(text: str, *, mode: Mode = "precise", hmm: bool = True) -> list[str]:
    """Words of ``text`` by ``rjieba`` (jieba's algorithm and dictionary, in Rust).

    ``precise`` is jieba's default ``cut``, ``all`` its ``cut_all=True`` (every dictionary word
    found, overlapping), ``search`` its ``cut_for_search``; ``hmm`` turns the HMM guesser for
    words missing from the dictionary on or off (``all`` has none).  Whitespace and punctuation
    come out as tokens of their own, as in jieba.
    """
    if mode == "precise":
        words: list[str] = rjieba.cut(text, hmm)
    elif mode == "all":
        words = rjieba.cut_all(text)
    elif mode == "search":
        words = rjieba.cut_for_search(text, hmm)
    else:
        raise ValueError(f"unknown segmentation mode {mode!r}")
    return words


_SINGLE_NOISE = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
_ALNUM_NOISE = STOP_WORDS | _SINGLE_NOISE  # the noise among tokens whose ``isalnum()`` is true


def _is_noise(token: str) -> bool:
    """Stop words, single digits / latin letters, and tokens without a letter, digit or CJK."""
    if token in STOP_WORDS:
        return True
    if len(token) == 1:  # most of jieba's output: one punctuation mark or character
        return token in _SINGLE_NOISE or not token.isalnum()
    return _WORD_CHAR_RE.search(token) is None


def tokenize_normalized(text: str, *, hmm: bool = True, max_chars: int | None = None) -> list[str]:
    """Tokens of text that has already been through ``normalize`` (saves a second pass).

    ``hmm=False`` skips jieba's HMM guesser for words missing from its dictionary (faster);
    ``max_chars`` cuts the de-spaced text to its first characters before segmenting.
    """
    packed = despace(text)
    if max_chars is not None:
        packed = packed[:max_chars]
    # ``not _is_noise(t)`` inlined: most tokens are all letters/CJK/digits (``isalnum``), and for
    # those only the stop words and single digits or latin letters are noise.
    drop = _ALNUM_NOISE
    return [
        t
        for t in segment(packed, hmm=hmm)
        if (t not in drop if t.isalnum() else len(t) > 1 and not _is_noise(t))
    ]


def tokenize(text: str, *, hmm: bool = True, max_chars: int | None = None) -> list[str]:
    """jieba tokens of the normalised, de-spaced text, without stop words and punctuation."""
    return tokenize_normalized(normalize(text), hmm=hmm, max_chars=max_chars)


def canonical(text: str) -> str:
    """Kept tokens joined without spaces: raw and pre-segmented input end up the same."""
    return "".join(tokenize(text))


_COMPACT_DROP_RE = re.compile(r"[\s\W_]+")


# Multi-character stop words that are safe to cut out of running text without segmenting it
# (什么, 时候, 我们 ...); a few that also start content words (所有权, 一般纳税人) are kept.
_KEEP_IN_TEXT = frozenset({"所有", "一般", "通过", "经过", "一起", "不得"})


@cache
def _stop_phrase_re() -> re.Pattern[str]:
    words = sorted(
        (w for w in STOP_WORDS if len(w) >= 2 and w not in _KEEP_IN_TEXT),
        key=lambda w: (-len(w), w),
    )
    return re.compile("|".join(map(re.escape, words)))


def compact(text: str, *, drop_stop_phrases: bool = True) -> str:
    """Normalised text without whitespace, punctuation and multi-character stop words.

    Cheap (no jieba): the input of the character n-gram features of the similar-appeal index and
    hot-issue grouping, where 什么时候 or 我们 would otherwise make unrelated short appeals look
    alike.
    """
    packed = _COMPACT_DROP_RE.sub("", normalize(text))
    return _stop_phrase_re().sub("", packed) if drop_stop_phrases else packed


def char_shingles(text: str, size: int = 3) -> list[str]:
    """Character ``size``-grams of ``compact(text)``."""
    packed = compact(text)
    if len(packed) <= size:
        return [packed] if packed else []
    return [packed[i : i + size] for i in range(len(packed) - size + 1)]


def join_fields(parts: Iterable[str | None]) -> str:
    """Title and content (or any fields) as one text, skipping empty parts."""
    return "\n".join(p for p in parts if p)
