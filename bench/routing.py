"""Benchmark of the routing library (classifier, hot-issue grouping); the similar-appeal lookup,
which lives in PostgreSQL, is measured by ``bench/similar.py`` (it reuses this corpus).

Standalone: ``python bench/routing.py [--data-dir ../shared/data]``.

Prints, each with its target:
  * training time of the category classifier on appeals_train_7class.csv (7,636 messages);
  * classification throughput (appeals/s, one process) on raw messages;
  * hot-issue grouping time for ``--hot-size`` appeals (default 100,000).

The large corpora are synthetic but realistic: appeals written from templates (issue × place, with
popularity following a Zipf law so that some problems are reported many times, in different
words) and padded with filler drawn from a word-bigram model of the raw messages corpus (its
vocabulary and phrasing, but no sentence shared verbatim between appeals); 5% are raw messages.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kuaiban.routing import classifier, evaluation, hot  # noqa: E402


def tokenize_raw(text: str) -> list[str]:
    """jieba words with punctuation kept (for the filler model)."""
    import jieba

    return [str(word) for word in jieba.lcut(re.sub(r"\s+", "", text))]


# --------------------------------------------------------------------------------------------
# Synthetic appeals
# --------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


_NAME_HEADS = _words(
    "幸福 阳光 金色 滨江 翠湖 锦绣 和平 光明 建设 人民 解放 新华 东风 红星 青山 绿水 桃源 石桥 "
    "龙泉 凤凰 白沙 长乐 永安 富民 兴隆 万家 碧水 华府 御景 丽都 书香 枫林 银杏 梧桐 紫荆 "
    "南湖 北城 东岸 西苑 中心 朝阳 晨曦 春华 秋实 明珠 天鹅 金桂 玉兰 芙蓉 湘江 麓山 岳麓 "
    "望城 星沙 雨花 开福 天心 洞井 黎托 高桥 马坡 月湖 金霞 捞刀 浏阳 宁乡 暮云 坪塘 含浦"
)
_NAME_TAILS = {
    "home": _words("小区 家园 花园 新城 名苑 公馆 华庭 雅苑 山庄 公寓"),
    "road": _words("路 大道 街 北路 南路 东路 西路"),
    "village": _words("村 镇 乡 社区"),
    "school": _words("小学 中学 幼儿园 实验学校"),
    "firm": _words("建筑公司 物业公司 置业公司 商贸公司 劳务公司"),
    "market": _words("农贸市场 菜市场 批发市场 商业街"),
}

# (place kind, title templates, body templates)
_ISSUES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "home",
        ("{p}垃圾无人清运", "反映{p}垃圾堆积问题", "{p}的垃圾什么时候清理"),
        (
            "{p}的垃圾已经{d}天没人清运了，垃圾桶都满了，臭气熏天，请环卫部门尽快处理。",
            "{p}门口垃圾堆成山，天气一热味道很大，居民没法开窗，希望安排清运。",
            "我们{p}垃圾长期无人清理，蚊蝇滋生，严重影响居民生活。",
        ),
    ),
    (
        "home",
        ("{p}电梯故障频发", "{p}电梯存在安全隐患"),
        (
            "{p}的电梯经常出故障，上周还困住了人，物业一直拖着不修，请质监部门检查。",
            "{p}电梯三天两头坏，老人上下楼非常困难，物业收了维修费却不管。",
        ),
    ),
    (
        "home",
        ("{p}逾期交房", "{p}开发商延期交房", "{p}何时交房"),
        (
            "{p}购房合同约定{d}月前交房，开发商至今没有交房，也不支付违约金。",
            "{p}项目已经逾期交房{d}个月，业主每月还房贷却住不上房子，请住建局介入。",
            "反映{p}延期交付问题，开发商一拖再拖，业主多次上门无人答复。",
        ),
    ),
    (
        "home",
        ("{p}办不了房产证", "{p}房产证办理问题"),
        (
            "{p}交房{d}年了还办不了房产证，开发商说手续不全，业主的权益得不到保障。",
            "请问{p}的不动产权证什么时候能办下来？孩子上学急需房产证。",
        ),
    ),
    (
        "home",
        ("{p}夜间施工噪音扰民", "投诉{p}旁工地噪音"),
        (
            "{p}旁边的工地每天晚上施工到凌晨，噪音特别大，居民根本睡不着觉。",
            "{p}附近工地夜间违规施工，打桩机响到半夜，多次投诉没有效果。",
            "投诉{p}隔壁工地深夜施工扰民，请环保部门查处夜间施工。",
        ),
    ),
    (
        "home",
        ("{p}停水停电", "{p}频繁停电"),
        (
            "{p}这个月已经停电{d}次了，每次都没有提前通知，冰箱里的东西都坏了。",
            "{p}经常无故停水停电，居民生活受到很大影响，请供电公司解决。",
        ),
    ),
    (
        "road",
        ("{p}红绿灯坏了", "{p}路口信号灯故障"),
        (
            "{p}路口的红绿灯坏了{d}天，一直闪黄灯，早晚高峰车辆抢行非常危险。",
            "{p}交叉路口信号灯不亮，上下班时间堵成一团，请交警部门尽快修复。",
        ),
    ),
    (
        "road",
        ("{p}路灯不亮", "{p}路灯长期损坏"),
        (
            "{p}的路灯坏了{d}个月，晚上一片漆黑，行人走路很不安全。",
            "反映{p}路灯长期不亮的问题，夜里出行摔倒过好几个人，请市政部门维修。",
        ),
    ),
    (
        "road",
        ("{p}道路破损严重", "{p}坑洼不平"),
        (
            "{p}路面坑坑洼洼，下雨天全是积水，电动车经常摔倒，请尽快修路。",
            "{p}这段路破损{d}年了一直没人修，车辆通行困难，存在安全隐患。",
        ),
    ),
    (
        "road",
        ("{p}渣土车抛洒", "{p}渣土车超速"),
        (
            "{p}每天晚上渣土车横冲直撞，沿路抛洒泥土，尘土飞扬，请交警和城管整治。",
            "{p}渣土车超载超速，路面全是泥，晚上轰鸣声扰民。",
        ),
    ),
    (
        "village",
        ("{p}养猪场污染河流", "{p}养殖场偷排粪污"),
        (
            "{p}的养猪场把猪粪直接排到河里，河水又黑又臭，下游村民没法用水。",
            "举报{p}一家养殖场偷排污水污染河流，河里的鱼都死了，请环保局查处。",
        ),
    ),
    (
        "village",
        ("{p}自来水发黄", "{p}饮水安全问题"),
        (
            "{p}这几天自来水发黄，有泥沙味，根本不敢喝，请自来水公司检测水质。",
            "{p}居民反映自来水浑浊发黄，烧开后还有沉淀，已经持续{d}天。",
        ),
    ),
    (
        "village",
        ("{p}征地补偿款未发放", "{p}拆迁补偿问题"),
        (
            "{p}征地已经{d}年了，补偿款到现在还没有发到村民手里，请求上级部门调查。",
            "{p}拆迁补偿标准不公开，村干部优亲厚友，村民意见很大。",
        ),
    ),
    (
        "village",
        ("{p}修路资金去向", "{p}村务不公开"),
        (
            "{p}修路集资了{d}万元，路没修好钱也不知去向，村务从来不公开。",
            "请上级部门查一查{p}的村级财务，账目从来不公示。",
        ),
    ),
    (
        "school",
        ("{p}乱收费", "举报{p}违规收费"),
        (
            "{p}开学让每个学生交{n}元资料费，不开收据，是不是乱收费？",
            "{p}以辅导费名义向学生收取{n}元，家长们意见很大，请教育局查处。",
            "{p}本学期又收了{n}块钱的资料费，学校不给收费依据。",
        ),
    ),
    (
        "school",
        ("{p}食堂卫生差", "{p}食品安全问题"),
        (
            "{p}食堂饭菜里经常吃出虫子，卫生条件很差，请市场监管局检查。",
            "孩子在{p}吃完午饭后肚子疼，食堂的食材不新鲜，请相关部门督查。",
        ),
    ),
    (
        "school",
        ("{p}强制补课", "{p}周末补课"),
        (
            "{p}周末和寒暑假强制学生补课，每人收费{n}元，学生苦不堪言。",
            "{p}违规组织在职教师有偿补课，不参加的学生被老师区别对待。",
        ),
    ),
    (
        "firm",
        ("{p}拖欠农民工工资", "讨要{p}欠薪"),
        (
            "{p}拖欠我们{d}多个农民工的工资，一共{n}多元，快过年了还不给。",
            "{p}承建的项目完工半年了还欠农民工工资，老板一直躲着不见，请人社局帮忙追讨。",
            "反映{p}恶意拖欠工资问题，工人的血汗钱至今没有结清。",
        ),
    ),
    (
        "firm",
        ("{p}不给员工交社保", "{p}社保问题"),
        (
            "{p}入职{d}年了一直不给我们交社保，问了人事说是公司规定。",
            "{p}只按最低基数缴纳社保，还从工资里扣钱，请劳动监察部门调查。",
        ),
    ),
    (
        "market",
        ("{p}占道经营", "{p}周边交通堵塞"),
        (
            "{p}门口的商贩占道经营，把摊位摆到马路上，车辆过不去，请城管整治。",
            "{p}周边占道经营严重，道路拥堵，垃圾满地，希望加强管理。",
        ),
    ),
    (
        "market",
        ("{p}商户油烟扰民", "{p}烧烤油烟"),
        (
            "{p}的烧烤摊油烟直接排进居民楼，每天晚上油烟味很重，窗户都不敢开。",
            "{p}的餐饮店没有安装油烟净化器，油烟和噪音扰民到深夜。",
        ),
    ),
    (
        "market",
        ("{p}缺斤少两", "{p}价格欺诈"),
        (
            "在{p}买菜经常缺斤少两，商户的秤有问题，请市场监管部门检查。",
            "{p}商户明码标价不实，结账时价格比标价高{n}元。",
        ),
    ),
)

_ASKS = (
    "请相关部门尽快处理。",
    "希望领导重视，早日解决。",
    "恳请有关部门调查处理，给老百姓一个交代。",
    "多次反映无果，请上级部门督办。",
    "",
)
_SYNONYMS = (
    ("尽快", "早日"),
    ("处理", "解决"),
    ("严重", "非常"),
    ("居民", "住户"),
    ("经常", "总是"),
    ("一直", "始终"),
    ("请", "恳请"),
    ("非常", "特别"),
    ("问题", "情况"),
    ("根本", "完全"),
)
_CLAUSE_RE = re.compile(r"[，。？]")
_CITIES = [f"{c}市" for c in "ABCDEFGHIJKLMN"]


def _word_chain(
    messages: list[str],
) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The raw corpus's word bigram model: vocabulary, CSR of next-word ids, start-word ids."""
    vocabulary: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for message in messages:
        ids = [vocabulary.setdefault(w, len(vocabulary)) for w in tokenize_raw(message)]
        pairs.extend(itertools.pairwise(ids))
    words = list(vocabulary)
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    ptr = np.searchsorted(edges[:, 0], np.arange(len(words) + 1))
    starts = np.array(
        [i for i, w in enumerate(words) if w[0] not in "，。！？、；：,.!?\n "], dtype=np.int64
    )
    return words, ptr.astype(np.int64), edges[:, 1].copy(), starts


def load_raw_messages(data_dir: Path) -> list[str]:
    """Title and content of the raw messages corpus (4,326 messages)."""
    path = data_dir / "messages_hot_issues.csv"
    with path.open(encoding="utf-8") as fh:
        return [f"{r['title']}\n{r['content'].strip()}" for r in csv.DictReader(fh)]


class AppealFaker:
    """Realistic Chinese appeals: the same problem at the same place, reported in many wordings."""

    def __init__(self, raw_messages: list[str], *, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self._zipf: list[float] | None = None
        self._n_events = 1
        self.raw = raw_messages
        self.words, self.next_ptr, self.next_ids, self.starts = _word_chain(raw_messages)
        self.np_rng = np.random.default_rng(seed)
        self.clauses = [
            sorted({c for body in bodies for c in _CLAUSE_RE.split(body) if c})
            for _, _, bodies in _ISSUES
        ]

    def place(self, kind: str, number: int) -> str:
        """A stable, anonymised place name (``B市B4区枫林梧桐家园``) for place ``number``."""
        heads = len(_NAME_HEADS)
        tails = _NAME_TAILS[kind]
        city = _CITIES[number % len(_CITIES)]
        district = f"{city[0]}{number % 9 + 1}区"
        name = _NAME_HEADS[number % heads]
        if number >= heads:
            name += _NAME_HEADS[(number // heads) % heads]
        if number >= heads * heads:
            name += str(number // (heads * heads))
        return f"{city}{district}{name}{tails[(number // 7) % len(tails)]}"

    def event(self, n_events: int) -> int:
        """A problem (issue × place): 30% follow a Zipf law over the first 2,000 problems (the top
        one gets ~1% of all appeals), the rest are spread uniformly (reported once or a few times).
        """
        if self.rng.random() < 0.3:
            hot = min(2000, n_events)
            if self._zipf is None or len(self._zipf) != hot:
                self._zipf = list(itertools.accumulate(1 / (r + 3) for r in range(hot)))
            return bisect.bisect_left(self._zipf, self.rng.random() * self._zipf[-1])
        return self.rng.randrange(n_events)

    def appeal(self, event: int) -> str:
        """One citizen's report of problem ``event``: its own pick of clauses, words and filler."""
        rng = self.rng
        issue = event % len(_ISSUES)
        kind, titles, _ = _ISSUES[issue]
        # Places are spread over problems: about two problems per place.
        place = self.place(kind, (event * 7919) % max(1, self._n_events // 2))
        slots = {"p": place, "d": rng.randint(2, 30), "n": rng.choice((200, 300, 500, 800, 1200))}
        chosen = rng.sample(self.clauses[issue], k=min(len(self.clauses[issue]), rng.randint(2, 4)))
        if not any("{p}" in clause for clause in chosen):
            chosen[0] = "{p}" + chosen[0]
        body = "，".join(chosen) + "。" + rng.choice(_ASKS)
        for word, other in _SYNONYMS:
            if word in body and rng.random() < 0.5:
                body = body.replace(word, other)
        parts = [rng.choice(titles).format(**slots), body.format(**slots)]
        if rng.random() < 0.3:
            parts.insert(1, "尊敬的领导：您好！")
        return parts[0] + "\n" + "".join(parts[1:])

    def babble(self, lengths: list[int]) -> list[str]:
        """Filler texts of the given word counts: random walks over the raw corpus's word bigrams
        (its words and phrasing, but no sentence shared verbatim between appeals). Vectorised:
        all walks advance together."""
        rng = self.np_rng
        n = len(lengths)
        steps = max(max(lengths), 1)
        walk = np.empty((n, steps), dtype=np.int64)
        state = self.starts[rng.integers(0, len(self.starts), n)]
        degree = np.diff(self.next_ptr)
        for step in range(steps):
            walk[:, step] = state
            deg = degree[state]
            pick = self.next_ptr[state] + (rng.random(n) * np.maximum(deg, 1)).astype(np.int64)
            restart = self.starts[rng.integers(0, len(self.starts), n)]
            state = np.where(
                deg > 0, self.next_ids[np.minimum(pick, len(self.next_ids) - 1)], restart
            )
        words = self.words
        return [
            "".join([words[w] for w in row[:k]])
            for row, k in zip(walk.tolist(), lengths, strict=True)
        ]

    def labelled(self, n: int, *, raw_share: float = 0.05) -> Iterator[tuple[int, str]]:
        """(problem id, text); a raw message from the corpus has id -1 - its index."""
        n_events = max(1, n // 3)
        self._n_events = n_events
        for start in range(0, n, 10_000):
            batch: list[tuple[int, str]] = []
            for _ in range(min(10_000, n - start)):
                if self.rng.random() < raw_share:
                    at = self.rng.randrange(len(self.raw))
                    batch.append((-1 - at, self.raw[at]))
                else:
                    event = self.event(n_events)
                    batch.append((event, self.appeal(event)))
            lengths = [self.rng.randint(0, 40) for _ in batch]
            for (event, text), filler in zip(batch, self.babble(lengths), strict=True):
                yield (event, text) if event < 0 else (event, text + filler)

    def stream(self, n: int, *, raw_share: float = 0.05) -> Iterator[str]:
        for _, text in self.labelled(n, raw_share=raw_share):
            yield text


# --------------------------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------------------------


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    last = len(ordered) - 1
    return (
        statistics.median(ordered),
        ordered[round(0.95 * last)],
        ordered[round(0.99 * last)],
    )


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSES TARGET"


def bench_classifier(data_dir: Path, raw: list[str], *, cv: bool) -> None:
    texts, labels = classifier.load_csv(data_dir / "appeals_train_7class.csv")
    t0, c0 = time.perf_counter(), time.process_time()
    model = classifier.train(texts, labels, seed=0)
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"classifier: trained on {len(texts):,} messages in {train_s:.1f} s wall "
        f"({train_cpu:.1f} s CPU)"
    )

    sample = (raw * 3)[:10_000]
    model.predict_top(sample[:200], k=3)  # warm-up (rjieba dictionary, OpenCC)
    t0, c0 = time.perf_counter(), time.process_time()
    model.predict_top(sample, k=3)
    rate = len(sample) / (time.perf_counter() - t0)
    cpu_rate = len(sample) / (time.process_time() - c0)
    print(
        f"classifier: throughput {rate:,.0f} raw appeals/s wall, {cpu_rate:,.0f}/s per CPU "
        f"second, top-3 with probabilities (target >= 1,000/s) {_verdict(rate >= 1000)}"
    )
    if cv:
        t0 = time.perf_counter()
        result = evaluation.cross_validate(texts, labels, folds=5, seed=0, desegment=True)
        print(f"classifier: 5-fold de-segmented CV in {time.perf_counter() - t0:.0f} s")
        print(evaluation.format_report(result))


def bench_hot(raw: list[str], *, size: int) -> None:
    faker = AppealFaker(raw, seed=3)
    items = [(i, text, None) for i, text in enumerate(faker.stream(size))]
    t0, c0 = time.perf_counter(), time.process_time()
    issues = hot.group_hot_issues(items)
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    grouped = sum(issue.size for issue in issues)
    print(
        f"hot: grouped {size:,} appeals in {took:.1f} s wall ({cpu:.1f} s CPU) into "
        f"{len(issues):,} issues ({grouped:,} appeals in issues) (target < 60 s) "
        f"{_verdict(took < 60)}"
    )
    for issue in issues[:5]:
        print(f"hot:   {issue.size:5d}  {issue.label}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--hot-size", type=int, default=100_000)
    parser.add_argument("--cv", action="store_true", help="also run the 5-fold CV (slow)")
    parser.add_argument("--only", choices=("classifier", "hot"), action="append", default=None)
    args = parser.parse_args(argv)
    raw = load_raw_messages(args.data_dir)
    parts = args.only or ["classifier", "hot"]
    if "classifier" in parts:
        bench_classifier(args.data_dir, raw, cv=args.cv)
    if "hot" in parts:
        bench_hot(raw, size=args.hot_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
