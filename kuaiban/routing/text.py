"""Text normalisation and tokenisation for routing (classifier, similar appeals, hot issues).

Real appeals arrive as raw text (punctuation, stop words, sometimes Traditional characters or
full-width forms), while the classifier's training data is pre-segmented with stop words removed.
Everything that builds features therefore goes through the same canonical pipeline, so that both
sides look alike:

    normalize  -> NFKC (full-width to half-width), Traditional to Simplified, lower case,
                  no URLs / e-mail addresses / greeting boilerplate, single spaces
    despace    -> whitespace removed wherever a CJK character is on either side
    tokenize   -> jieba words of the de-spaced text, without stop words, punctuation,
                  single digits or single latin letters
    canonical  -> the kept tokens joined without spaces (input for character n-grams)

OpenCC and jieba are loaded once, lazily, and nothing is downloaded: OpenCC's dictionaries and
jieba's dictionary ship inside their packages.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Protocol

from kuaiban.core.text import to_simplified

__all__ = [
    "STOP_WORDS",
    "canonical",
    "char_shingles",
    "compact",
    "despace",
    "join_fields",
    "normalize",
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

_init_lock = threading.Lock()


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


def _jieba_ready() -> None:
    import jieba

    if jieba.dt.initialized:
        return
    with _init_lock:
        if not jieba.dt.initialized:
            jieba.setLogLevel(logging.WARNING)
            logging.getLogger("jieba").setLevel(logging.WARNING)
            jieba.initialize()


class _Segmenter(Protocol):
    def lcut(self, sentence: str, cut_all: bool = False, HMM: bool = True) -> list[str]: ...


_NOT_A_WORD = 1.0  # a log-probability is never positive: marks dictionary prefixes


@cache
def _segmenter() -> _Segmenter:
    """jieba's default segmentation (precise mode), the same tokens in a fraction of the time.

    jieba's ``cut`` builds, for each block of Chinese text, a dict of the dictionary words
    starting at each position (``get_DAG``), takes the most probable path over it (``calc``,
    calling ``log`` on every word's frequency each time), walks that path through generators and
    hands each run of single characters missing from the dictionary to ``jieba.finalseg``, whose
    Viterbi decoder copies a list for every state at every character.  This subclass does the
    same computations with the same floating-point operations in the same order, so the same
    path and the same tokens come out (a test compares them with ``jieba.lcut`` on hundreds of
    messages), but:

    * the word graph is built and walked in one loop over a table of every dictionary entry's
      log-probability (prefixes of words marked ``_NOT_A_WORD``), one dict lookup per step;
    * the path is walked into a list, without generators;
    * the HMM keeps back-pointers instead of copied paths, with jieba's tie-breaking spelled out.

    It shares jieba's loaded dictionary and HMM tables.  ``lcut(text)`` and ``lcut(text,
    HMM=True)`` run the code here; ``HMM=False`` goes through jieba's own walk (with the fast
    best-path search).
    """
    import math

    import jieba
    import jieba.finalseg as finalseg

    _jieba_ready()

    re_han = jieba.re_han_default  # blocks of Chinese, latin letters, digits and +#&._%-
    re_skip = jieba.re_skip_default  # what separates the other characters
    hmm_han = finalseg.re_han  # runs of Chinese characters within a block
    hmm_skip = finalseg.re_skip  # latin words and numbers between them
    min_float = finalseg.MIN_FLOAT
    start_p, trans_p = finalseg.start_P, finalseg.trans_P
    emit_b, emit_m = finalseg.emit_P["B"].get, finalseg.emit_P["M"].get
    emit_e, emit_s = finalseg.emit_P["E"].get, finalseg.emit_P["S"].get
    t_eb, t_sb = trans_p["E"].get("B", min_float), trans_p["S"].get("B", min_float)
    t_mm, t_bm = trans_p["M"].get("M", min_float), trans_p["B"].get("M", min_float)
    t_ss, t_es = trans_p["S"].get("S", min_float), trans_p["E"].get("S", min_float)
    t_be, t_me = trans_p["B"].get("E", min_float), trans_p["M"].get("E", min_float)
    p0_b, p0_m, p0_e, p0_s = (start_p[s] for s in "BMES")

    def hmm_cut(run: str, out: list[str]) -> None:
        """``finalseg.__cut``: jieba's Viterbi over B/M/E/S for a run of Chinese characters.

        Each state's best predecessor is chosen as jieba's ``max`` over ``(prob, state)``
        tuples chooses it: the higher probability, and on a tie the later letter.
        """
        c = run[0]
        vb = p0_b + emit_b(c, min_float)
        vm = p0_m + emit_m(c, min_float)
        ve = p0_e + emit_e(c, min_float)
        vs = p0_s + emit_s(c, min_float)
        # back[t] holds, for position t, the predecessors of B, M, E and S (True: the later
        # letter of the two possible ones: S for B, M for M, M for E, S for S).
        back: list[tuple[bool, bool, bool, bool]] = []
        for c in run[1:]:
            em = emit_b(c, min_float)
            x, y = ve + t_eb + em, vs + t_sb + em
            b_from_s = y >= x
            nb = y if b_from_s else x
            em = emit_m(c, min_float)
            x, y = vm + t_mm + em, vb + t_bm + em
            m_from_m = x >= y
            nm = x if m_from_m else y
            em = emit_s(c, min_float)
            x, y = vs + t_ss + em, ve + t_es + em
            s_from_s = x >= y
            ns = x if s_from_s else y
            em = emit_e(c, min_float)
            x, y = vb + t_be + em, vm + t_me + em
            e_from_m = y >= x
            ne = y if e_from_m else x
            back.append((b_from_s, m_from_m, e_from_m, s_from_s))
            vb, vm, ve, vs = nb, nm, ne, ns
        state = "S" if vs >= ve else "E"
        tags = [state]
        for b_from_s, m_from_m, e_from_m, s_from_s in reversed(back):
            if state == "B":
                state = "S" if b_from_s else "E"
            elif state == "M":
                state = "M" if m_from_m else "B"
            elif state == "E":
                state = "M" if e_from_m else "B"
            else:
                state = "S" if s_from_s else "E"
            tags.append(state)
        tags.reverse()
        begin = nexti = 0
        for i, tag in enumerate(tags):
            if tag == "B":
                begin = i
            elif tag == "E":
                out.append(run[begin : i + 1])
                nexti = i + 1
            elif tag == "S":
                out.append(run[i])
                nexti = i + 1
        if nexti < len(run):
            out.append(run[nexti:])

    def unknown_run(buf: str, out: list[str]) -> None:
        """``finalseg.cut``: Chinese runs through the HMM, latin words and numbers kept whole."""
        for i, part in enumerate(hmm_han.split(buf)):
            if i % 2:
                hmm_cut(part, out)
            elif part:
                out.extend(p for p in hmm_skip.split(part) if p)

    class Segmenter(jieba.Tokenizer):
        def __init__(self) -> None:
            super().__init__()
            self.FREQ = jieba.dt.FREQ
            self.total = jieba.dt.total
            self.initialized = True
            self._logtotal = logtotal = math.log(self.total)
            # Every entry of jieba's prefix dictionary with log(count) - log(total), the number
            # jieba computes for it in ``calc`` (one float object per distinct count).
            by_count: dict[int, float] = {}
            logp: dict[str, float] = {}
            for word, count in self.FREQ.items():
                p = by_count.get(count)
                if p is None:
                    p = by_count[count] = math.log(count) - logtotal if count else _NOT_A_WORD
                logp[word] = p
            self._logp = logp

        def _route(self, sentence: str) -> list[int]:
            """For each position, the end (exclusive) of the word that starts there on the
            most probable path: jieba's ``get_DAG`` and ``calc`` in one pass."""
            logp = self._logp
            alone = -self._logtotal  # a character missing from the dictionary: frequency 1
            n = len(sentence)
            score = [0.0] * (n + 1)
            ends = [0] * (n + 1)
            for start in range(n - 1, -1, -1):
                best = 0.0
                best_end = 0
                end = start + 1
                p = logp.get(sentence[start])
                while p is not None:
                    if p <= 0.0:
                        candidate = p + score[end]
                        # ties go to the longer word, as in jieba's max over (score, end)
                        if best_end == 0 or candidate >= best:
                            best = candidate
                            best_end = end
                    if end == n:
                        break
                    end += 1
                    p = logp.get(sentence[start:end])
                if best_end:
                    score[start] = best
                    ends[start] = best_end
                else:
                    score[start] = alone + score[start + 1]
                    ends[start] = start + 1
            return ends

        def get_DAG(self, sentence: str) -> dict[int, list[int]]:
            return {}  # built and walked in ``calc``

        def calc(
            self, sentence: str, DAG: dict[int, list[int]], route: dict[int, tuple[float, int]]
        ) -> None:
            # jieba's own walks only read the ends; the scores are not kept.
            for start, end in enumerate(self._route(sentence)[:-1]):
                route[start] = (0.0, end - 1)

        def _cut_block(self, block: str, out: list[str]) -> None:
            """jieba's ``__cut_DAG``: the best path, runs of single characters to the HMM."""
            ends = self._route(block)
            freq = self.FREQ
            n = len(block)
            x = 0
            run_start = 0
            while x < n:
                y = ends[x]
                if y - x > 1:
                    if x - run_start == 1:
                        out.append(block[run_start])
                    elif x > run_start:
                        buf = block[run_start:x]
                        if freq.get(buf):
                            out.extend(buf)
                        else:
                            unknown_run(buf, out)
                    out.append(block[x:y])
                    run_start = y
                x = y
            if n - run_start == 1:
                out.append(block[run_start])
            elif n > run_start:
                buf = block[run_start:]
                if freq.get(buf):
                    out.extend(buf)
                else:
                    unknown_run(buf, out)

        def lcut(self, sentence: str, cut_all: bool = False, HMM: bool = True) -> list[str]:
            if cut_all or not HMM or finalseg.Force_Split_Words:
                return list(super().cut(sentence, cut_all=cut_all, HMM=HMM))
            out: list[str] = []
            for i, block in enumerate(re_han.split(jieba.strdecode(sentence))):
                if i % 2:
                    self._cut_block(block, out)
                elif block:
                    for part in re_skip.split(block):
                        if re_skip.match(part):
                            out.append(part)
                        else:
                            out.extend(part)
            return out

    segmenter: _Segmenter = Segmenter()
    return segmenter


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
        for t in _segmenter().lcut(packed, HMM=hmm)
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
