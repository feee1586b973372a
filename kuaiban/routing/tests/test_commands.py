"""The CLI: kuaiban train, evaluate, similar, hot and routing_worker."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from kuaiban.conftest import progress_seen
from kuaiban.core import jobs
from kuaiban.routing import runtime, services
from kuaiban.routing.classifier import TextClassifier, appeal_text
from kuaiban.routing.models import ModelVersion, TrainingJob
from kuaiban.routing.tests.conftest import SAMPLE, labelled

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_env")]

RAW = [
    appeal_text("城关二小乱收费", "学校开学让每个学生交三百元资料费，不开收据，请教育局查处。"),
    appeal_text("化工厂排放废气", "我们村旁边的化工厂每天晚上偷排废气，气味刺鼻，河水也被污染了。"),
    appeal_text("公司拖欠工资", "公司已经三个月没发工资了，也不给我们交社保，请劳动监察大队帮忙。"),
]
HEATING = [
    "阳光花园小区{n}号楼暖气一直不热，室温只有十四度，家里有老人孩子，请住建局督促供热公司维修。",
    "幸福里小区{n}号楼供暖不达标，暖气片冰凉，多次打供热公司电话没人处理。",
    "锦绣家园{n}栋冬季采暖温度太低，物业说是热力站的问题，希望尽快解决供热问题。",
]
SMOKE = [
    "化工园区{n}号厂房晚上偷排废气，气味刺鼻，附近村民头晕，请生态环境部门查处。",
    "沙湾村旁边的砖厂烟囱冒黑烟，粉尘很大，庄稼叶子都是灰，请环保部门管一管。",
    "柳河上游的养殖场把粪水直接排进河里，河水发臭，鱼都死了，请环保局处理。",
]
SCHOOL = [
    "城关二小{n}年级开学收取资料费三百元，不开收据，家长意见很大，请教育局查处乱收费。",
    "实验中学要求学生统一购买教辅资料，每人{n}百元，属于违规收费，请教育部门处理。",
    "新华镇中心小学{n}班老师在校外办补习班，暗示学生参加，收费很高，请教育局调查。",
]


def run(*args: str) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command(*args, stdout=out)
    return out.getvalue()


def test_train_from_a_file_saves_activates_and_round_trips(routing_env: Path) -> None:
    out = run("train", "--file", str(SAMPLE), "--target", "category", "--cv", "3")
    row = ModelVersion.objects.get()
    assert row.active and row.target == "category" and row.n_samples == 305
    assert f"version: {row.version}  (active)" in out
    assert re.search(r"3-fold CV: accuracy 0\.\d{4}, macro-F1 0\.\d{4}", out)
    assert 0.5 < row.cv_macro_f1 <= 1 and len(row.scores["fold_macro_f1"]) == 3
    path = routing_env / "models" / row.path
    assert path.is_file() and row.size == path.stat().st_size and len(row.checksum) == 64
    assert sorted(row.classes) == sorted(
        {"城乡建设", "教育文体", "环境保护", "劳动和社会保障", "卫生计生", "交通运输", "商贸旅游"}
    )
    # The file loads back and predicts exactly what the service suggests from the active model.
    loaded = TextClassifier.load(path)
    for text in RAW:
        assert services.suggest(text)["categories"] == loaded.predict_top([text], k=3)[0]
    assert services.active_versions() == {"category": row.version, "unit": None}


def test_switching_the_active_version_back(routing_env: Path, unit_csv: Path) -> None:
    run("train", "--file", str(SAMPLE), "--cv", "0")
    first = ModelVersion.objects.get()
    # A second version from a file with only four of the seven categories, kept inactive.
    texts, labels = services.read_labelled_csv(SAMPLE)
    four = routing_env / "four.csv"
    with four.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for text, label in zip(texts, labels, strict=True):
            if label in ("城乡建设", "教育文体", "环境保护", "交通运输"):
                writer.writerow([text, label])
    run("train", "--file", str(four), "--cv", "0", "--keep-active")
    second = ModelVersion.objects.exclude(pk=first.pk).get()
    assert not second.active and ModelVersion.objects.get(pk=first.pk).active
    before = services.suggest(RAW[2])["categories"]
    assert before[0][0] == "劳动和社会保障"

    assert f"Active category model: {second.version}" in run("train", "--activate", second.version)
    assert services.suggest(RAW[2])["categories"][0][0] != "劳动和社会保障"
    assert {c for c, _p in services.suggest(RAW[0])["categories"]} <= {
        "城乡建设",
        "教育文体",
        "环境保护",
        "交通运输",
    }
    # ... and back.
    run("train", "--activate", first.version)
    assert services.suggest(RAW[2])["categories"] == before
    assert list(ModelVersion.objects.filter(active=True)) == [first]
    listing = run("train", "--list")
    assert f"* {first.version}" in listing and f"  {second.version}" in listing


def test_train_from_the_ledger(closed_ledger: Any) -> None:
    rows = [(t.format(n=n), "城乡建设", "zjj") for n in range(1, 5) for t in HEATING]
    rows += [(t.format(n=n), "教育文体", "jyj") for n in range(1, 5) for t in SCHOOL]
    rows += [(t.format(n=n), "环境保护", "sthj") for n in range(1, 5) for t in SMOKE]
    closed_ledger(rows)
    out = run("train", "--cv", "3", "--min-class", "5")
    assert "Training the category model on 36 samples" in out
    assert "Training the unit model on 36 samples" in out
    versions = {v.target: v for v in ModelVersion.objects.filter(active=True)}
    assert set(versions) == {"category", "unit"}
    assert versions["unit"].classes == ["jyj", "sthj", "zjj"]
    found = services.suggest("光明社区3号楼暖气不热，供热公司一直不来修")
    assert found["categories"][0][0] == "城乡建设"
    assert found["units"][0][:2] == ("zjj", "住建局")
    assert services.suggest("城关二小乱收费，请教育局查处")["units"][0][0] == "jyj"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--target", "region"), "Unknown target 'region'; one of: category, unit."),
        (("--file", "/nonexistent/appeals.csv"), "No such file: /nonexistent/appeals.csv"),
        (("--file", str(SAMPLE), "--label-col", "类别"), "has no column '类别'"),
        (("--file", str(SAMPLE), "--target", "all"), "Unknown target 'all'"),
        (("--cv", "1"), "Cross-validation needs 2 to 10 folds"),
        (("--activate", "category-nope"), "No model version category-nope."),
        ((), "Training needs at least two classes with 10 examples each; found 0"),
    ],
)
def test_train_refuses_bad_input_clearly(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        run("train", *args)
    assert not ModelVersion.objects.exists()


def test_activate_refuses_a_version_whose_file_is_gone(routing_env: Path) -> None:
    run("train", "--file", str(SAMPLE), "--cv", "0", "--keep-active")
    row = ModelVersion.objects.get()
    (routing_env / "models" / row.path).unlink()
    with pytest.raises(CommandError, match="is missing"):
        run("train", "--activate", row.version)
    assert not ModelVersion.objects.filter(active=True).exists()


def test_evaluate_cross_validation_is_seeded_and_ends_with_macro_f1() -> None:
    first = run(
        "evaluate", "--file", str(SAMPLE), "--text-col", "text", "--label-col", "label", "--cv", "3"
    )
    lines = first.strip().splitlines()
    assert re.fullmatch(r"macro-F1: 0\.\d{4}", lines[-1])
    assert any(line.startswith("accuracy: 0.") for line in lines)
    assert any(line.startswith("教育文体") for line in lines)  # the per-class table
    assert run("evaluate", "--file", str(SAMPLE), "--cv", "3") == first


def test_evaluate_a_saved_model_and_a_training_file(routing_env: Path, unit_csv: Path) -> None:
    run("train", "--file", str(SAMPLE), "--cv", "0")
    row = ModelVersion.objects.get()
    path = routing_env / "models" / row.path
    by_path = run("evaluate", "--file", str(SAMPLE), "--model", str(path))
    assert re.search(r"macro-F1: [01]\.\d{4}\n?$", by_path)  # 1.0000 on its own training set
    # A version name works as well as a path; the training file gives the same model (seeded).
    by_name = run("evaluate", "--file", str(SAMPLE), "--model", row.version)
    trained = run("evaluate", "--file", str(SAMPLE), "--train-file", str(SAMPLE))
    assert by_name.splitlines()[1:] == by_path.splitlines()[1:] == trained.splitlines()[1:]
    units = run(
        "evaluate",
        "--file",
        str(unit_csv),
        "--text-col",
        "内容",
        "--label-col",
        "单位",
        "--cv",
        "2",
    )
    assert "zjj" in units and units.strip().splitlines()[-1].startswith("macro-F1: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--file", "/nonexistent.csv"), "No such file"),
        (("--file", str(SAMPLE), "--text-col", "内容"), "has no column '内容'"),
        (("--file", str(SAMPLE), "--model", "/nonexistent.joblib"), "No model file or version"),
        (("--file", str(SAMPLE), "--model", str(SAMPLE)), "Cannot load a model"),
        (("--file", str(SAMPLE), "--model", "x", "--cv", "3"), "does not go with --model"),
        (("--file", str(SAMPLE), "--cv", "1"), "Cross-validation needs 2 to 10 folds"),
        (("--file", str(SAMPLE), "--cv", "99"), "Cross-validation needs 2 to 10 folds"),
    ],
)
def test_evaluate_refuses_bad_input_clearly(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        run("evaluate", *args)


def test_evaluate_refuses_classes_too_small_for_the_folds(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text(
        "text,label\n暖气不热,城乡建设\n学校收费,教育文体\n学校乱收费,教育文体\n", encoding="utf-8"
    )
    with pytest.raises(CommandError, match="smallest class has 1"):
        run("evaluate", "--file", str(path), "--cv", "2")


def test_similar_command_finds_a_paraphrase_in_the_window(
    routing_env: Path, closed_ledger: Any
) -> None:
    old = closed_ledger([("去年的投诉：阳光花园小区暖气不热", "城乡建设", "zjj")], days_ago=120)
    made = closed_ledger([(t.format(n=3), "城乡建设", "zjj") for t in HEATING])
    out = run("similar", "--analyze")
    assert "refreshed" in out or "Nothing to analyze" in out
    found = run("similar", "阳光花园小区暖气不热，家里太冷了").splitlines()
    numbers = [line.split()[1] for line in found]
    assert numbers[0] == made[0].number and old[0].number not in numbers
    with pytest.raises(CommandError, match="Give a text"):
        run("similar")


def test_hot_command_prints_the_period_issues(closed_ledger: Any) -> None:
    water = closed_ledger([(t, "城乡建设", "swj") for t in labelled("water")], days_ago=2)
    closed_ledger([(t, "城乡建设", "zjj") for t in labelled("")[:5]], days_ago=2)
    today = dt.date.today()
    out = run("hot", "--from", str(today - dt.timedelta(days=6)), "--to", str(today))
    assert "9 appeals" in out and "1 issues reported more than once" in out
    first = out.splitlines()[1]
    # Three or four of the four reports (a period of nine appeals gives thin word statistics).
    assert re.search(r"×[34]  new", first) and ("水质" in first or "自来水" in first), out
    assert re.search(r"units: 水利局[34]\n", out)
    assert set(re.findall(r"KBT-\d+", out)) <= {a.number for a in water}
    data = json.loads(run("hot", "--json"))
    assert [i["size"] for i in data["issues"]] in ([3], [4]) and data["appeals"] == 9
    with pytest.raises(CommandError, match="Use a date like"):
        run("hot", "--from", "2026-13-01")
    with pytest.raises(CommandError, match="start on or before its end"):
        run("hot", "--from", "2026-11-20", "--to", "2026-11-01")


def test_worker_runs_a_queued_job_once(closed_ledger: Any) -> None:
    rows = [(t.format(n=n), "城乡建设", "zjj") for n in range(1, 5) for t in HEATING]
    rows += [(t.format(n=n), "教育文体", "jyj") for n in range(1, 5) for t in SCHOOL]
    rows += [(t.format(n=n), "环境保护", "sthj") for n in range(1, 5) for t in SMOKE]
    closed_ledger(rows)
    job = services.job_enqueue(target="unit", cv_folds=2)
    claimed = services.job_claim(worker="a")
    assert claimed is not None and claimed.pk == job.pk and claimed.status == "running"
    assert services.job_claim(worker="b") is None  # the conditional UPDATE lets one worker win
    TrainingJob.objects.filter(pk=job.pk).update(status="queued", started_at=None)
    assert "1 training job(s) run." in run("routing_worker")
    job.refresh_from_db()
    assert job.status == "done" and job.result is not None and job.result.active
    assert job.result.target == "unit" and job.result.cv_folds == 2
    assert "3 classes" in job.output
    assert "0 training job(s) run." in run("routing_worker")


def test_a_running_job_reports_each_fold_the_fit_and_the_saved_version(
    closed_ledger: Any,
) -> None:
    rows = [(t.format(n=n), "城乡建设", "zjj") for n in range(1, 5) for t in HEATING]
    rows += [(t.format(n=n), "教育文体", "jyj") for n in range(1, 5) for t in SCHOOL]
    closed_ledger(rows)
    job = services.job_enqueue(target="unit", cv_folds=3)
    with progress_seen() as seen:
        assert "1 training job(s) run." in run("routing_worker")
    # Three folds, the fit on everything, the saved version: five steps.
    assert seen == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    job.refresh_from_db()
    assert job.status == "done" and job.result is not None
    assert jobs.progress(services.progress_key(job)) == jobs.Progress(5, 5)


def test_a_failing_job_is_marked_failed_with_its_reason() -> None:
    job = services.job_enqueue(target="category", cv_folds=0)
    run("routing_worker")
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert "at least two classes" in job.output
    assert not ModelVersion.objects.exists()


def test_a_two_class_file_trains_a_model_that_suggests_both(
    routing_env: Path, tmp_path: Path
) -> None:
    """scikit-learn's temperature scaling handles one SVM score column (two classes)."""
    with SAMPLE.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] in ("教育文体", "环境保护")]
    path = tmp_path / "two.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "label": r["label"]} for r in rows)
    run("train", "--file", str(path), "--cv", "3")
    row = ModelVersion.objects.get()
    assert sorted(row.classes) == ["教育文体", "环境保护"] and row.cv_macro_f1 > 0.8
    top = services.suggest("化工厂每天晚上偷排废气，河水也被污染了")["categories"]
    assert [label for label, _ in top] == ["环境保护", "教育文体"]
    # The confidence cap may leave mass to "none of these", never add any.
    assert top[0][1] > 0.5 and sum(p for _, p in top) <= 1 + 1e-3


def test_an_active_model_of_the_old_format_gives_no_suggestions_and_says_retrain(
    routing_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import joblib

    run("train", "--file", str(SAMPLE), "--cv", "0")
    row = ModelVersion.objects.get()
    path = routing_env / "models" / row.path
    joblib.dump({"format": 1, "metadata": {}}, path)  # what a deployment upgraded in place has
    ModelVersion.objects.filter(pk=row.pk).update(checksum="0" * 64)
    runtime.active_models.reset()
    with caplog.at_level("ERROR", logger="kuaiban.routing.runtime"):
        assert services.suggest("学校开学乱收费，请教育局查处")["categories"] == []
    assert f"cannot use model {row.version}" in caplog.text
    assert "retrain it with `kuaiban train`" in caplog.text
    with pytest.raises(CommandError, match="retrain it with `kuaiban train`"):
        run("evaluate", "--file", str(SAMPLE), "--model", row.version)
    run("train", "--file", str(SAMPLE), "--cv", "0")  # retraining is the way out
    assert services.suggest("学校开学乱收费，请教育局查处")["categories"]
