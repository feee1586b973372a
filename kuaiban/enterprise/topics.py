"""Topics of enterprise appeals (融资、水电气、用工、补贴、用地、不动产登记、项目建设、市场销售),
classified by keywords, and the text matching that finds published answers for a new appeal."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from kuaiban.core.text import fold
from kuaiban.enterprise.models import Topic

# Topic → keywords. Each hit counts once; the topic with most hits wins, ties go to the earlier
# topic in this table (so "施工许可" beats a stray "工人").
KEYWORDS: dict[str, tuple[str, ...]] = {
    Topic.FINANCING: (
        "融资",
        "贷款",
        "授信",
        "担保",
        "续贷",
        "抵押",
        "银行",
        "利率",
        "贴息",
        "资金周转",
        "流动资金",
        "过桥",
        "征信",
        "放贷",
    ),
    Topic.UTILITIES: (
        "用电",
        "供电",
        "电力",
        "增容",
        "变压器",
        "跳闸",
        "停电",
        "电价",
        "电网",
        "用水",
        "供水",
        "停水",
        "水压",
        "燃气",
        "天然气",
        "供气",
        "停气",
        "管网",
        "蒸汽",
        "供热",
    ),
    Topic.LABOUR: (
        "招工",
        "用工",
        "缺工",
        "技术工人",
        "工人",
        "员工",
        "社保",
        "工资",
        "劳动",
        "职业培训",
        "技能培训",
        "人才",
        "招聘",
        "劳务",
    ),
    Topic.SUBSIDIES: (
        "补贴",
        "补助",
        "奖补",
        "奖励资金",
        "扶持资金",
        "专项资金",
        "技改",
        "退税",
        "减税",
        "减免",
        "税费",
        "兑现",
        "申报",
    ),
    Topic.LAND: (
        "用地",
        "土地",
        "出让",
        "用地指标",
        "征地",
        "拆迁",
        "地块",
        "供地",
        "土地证",
        "闲置土地",
    ),
    Topic.PROPERTY: (
        "不动产",
        "产权证",
        "房产证",
        "权证",
        "不动产登记",
        "过户",
        "确权",
        "产权",
    ),
    Topic.CONSTRUCTION: (
        "施工许可",
        "审批",
        "环评",
        "能评",
        "消防",
        "验收",
        "开工",
        "规划许可",
        "项目建设",
        "建设项目",
        "图审",
        "竣工",
        "厂房",
        "扩建",
        "立项",
        "备案",
    ),
    Topic.SALES: (
        "销售",
        "市场",
        "订单",
        "展会",
        "推广",
        "销路",
        "客户",
        "采购",
        "滞销",
        "电商",
        "出口",
        "外贸",
        "营销",
    ),
}
TOPIC_ORDER = list(KEYWORDS)


def classify(text: str) -> str:
    """The topic of an appeal's title and content, ``other`` when no keyword hits."""
    folded = fold(text)
    best, best_hits = str(Topic.OTHER), 0
    for topic in TOPIC_ORDER:
        hits = sum(1 for word in KEYWORDS[topic] if word in folded)
        if hits > best_hits:
            best, best_hits = str(topic), hits
    return best


# ----- matching published answers to a new appeal -------------------------------------------

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_STOP_TEXT = """
的 了 是 在 和 与 及 我 我们 你 你们 公司 企业 我司 本公司 请问 希望 能否 是否 一下 一直 目前 现在
已经 还 也 都 就 又 再 很 非常 有 没有 什么 怎么 如何 哪些 需要 可以 问题 情况 相关 部门 帮助 协调
解决 尽快
"""
STOP = frozenset(_STOP_TEXT.split())


@functools.cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)
    return jieba


def tokens(text: str) -> list[str]:
    words = _jieba().lcut(_PUNCT.sub(" ", fold(text)))
    return [w for w in words if w.strip() and w not in STOP and not (len(w) == 1 and w.isascii())]


def rank(
    query: str, documents: Sequence[str], *, threshold: float = 0.12
) -> list[tuple[int, float]]:
    """Indexes of ``documents`` similar to ``query`` by TF-IDF cosine, best first."""
    if not documents or not query.strip():
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    vectorizer = TfidfVectorizer(analyzer=tokens, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform([*documents, query])
    except ValueError:  # nothing left after stop words
        return []
    scores = linear_kernel(matrix[-1], matrix[:-1]).ravel()
    found = [(i, float(s)) for i, s in enumerate(scores) if s >= threshold]
    return sorted(found, key=lambda pair: -pair[1])


def keywords_of(topic: str) -> Iterable[str]:
    return KEYWORDS.get(topic, ())
