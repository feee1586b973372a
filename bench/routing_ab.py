"""Classifier throughput of two checkouts side by side, in one run (before vs after a change).

    python bench/routing_ab.py --before ../kb-before [--after .] [--rounds 5] [--data-dir DIR]

Each checkout runs in a worker process of its own, with its own virtualenv's Python
(``<checkout>/.venv/bin/python``, or ``--before-python`` / ``--after-python``) and its own code:
it trains the category classifier on appeals_train_7class.csv (7,636 rows, as ``bench/routing.py``
does), then, when told, classifies the same 10,000 raw messages (the 4,326 of the raw corpus,
repeated) top-3 with probabilities and reports wall and CPU time. The two workers take turns,
``--rounds`` times each, so both see the same host. Before each turn the host's reference
speed is taken: the CPU time of a fixed pure-Python loop (``for i in range(10**7): s += i``;
lower is a faster host), as the other benches report it. At the end: the top-1 agreement of the
two on the 10,000 messages, and the medians.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MESSAGES = 10_000


def load_raw_messages(data_dir: Path) -> list[str]:
    with (data_dir / "messages_hot_issues.csv").open(encoding="utf-8") as fh:
        return [f"{r['title']}\n{r['content'].strip()}" for r in csv.DictReader(fh)]


def worker(checkout: Path, data_dir: Path) -> None:
    """Train, then answer each ``run`` line on stdin with one JSON line of timings."""
    sys.path.insert(0, str(checkout))
    from kuaiban.routing import classifier

    texts, labels = classifier.load_csv(data_dir / "appeals_train_7class.csv")
    t0, c0 = time.perf_counter(), time.process_time()
    model = classifier.train(texts, labels, seed=0)
    trained = {"train_s": time.perf_counter() - t0, "train_cpu_s": time.process_time() - c0}
    sample = (load_raw_messages(data_dir) * 3)[:MESSAGES]
    model.predict_top(sample[:200], k=3)  # warm-up (dictionaries, OpenCC)
    print(json.dumps(trained), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        t0, c0 = time.perf_counter(), time.process_time()
        top = model.predict_top(sample, k=3)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        answer = {"wall_s": wall, "cpu_s": cpu, "top1": [row[0][0] for row in top]}
        print(json.dumps(answer, ensure_ascii=False), flush=True)


class Side:
    def __init__(self, name: str, checkout: Path, python: Path, data_dir: Path) -> None:
        self.name = name
        self.checkout = checkout
        self.proc = subprocess.Popen(
            [
                *(str(python), str(Path(__file__).resolve())),
                *("--worker", str(checkout), "--data-dir", str(data_dir)),
            ],
            cwd=checkout,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.rates: list[float] = []
        self.cpu_rates: list[float] = []
        self.top1: list[str] = []

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name}: the worker stopped (see its error above)")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _commit(checkout: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()[:70] or "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="checkout of the commit before")
    parser.add_argument("--after", type=Path, default=REPO, help="checkout after (default: here)")
    parser.add_argument("--before-python", type=Path)
    parser.add_argument("--after-python", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.data_dir)
        return 0
    if args.before is None:
        parser.error("--before is required")
    # Here, not at the top: a --worker imports kuaiban from its own checkout, and bench.common
    # imports this checkout's kuaiban (the demo texts).
    sys.path.insert(0, str(REPO))
    from bench.common import host_loop

    sides = []
    for name, checkout, python in (
        ("before", args.before.resolve(), args.before_python),
        ("after", args.after.resolve(), args.after_python),
    ):
        python = python or checkout / ".venv" / "bin" / "python"
        print(f"{name}: {checkout} ({_commit(checkout)}), {python}")
        sides.append(Side(name, checkout, python, args.data_dir))
    for side in sides:  # both train at once: report, don't compare, these times
        trained = side.read()
        print(
            f"{side.name}: trained in {trained['train_s']:.1f} s wall, "
            f"{trained['train_cpu_s']:.1f} s CPU (both trained at the same time)"
        )
    print(
        f"{'round':>5} {'side':>6} {'host loop s':>11} {'msgs/s wall':>11} {'msgs per CPU s':>14}"
    )
    for round_no in range(1, args.rounds + 1):
        for side in sides if round_no % 2 else sides[::-1]:
            loop = host_loop()
            result = side.run()
            wall, cpu = float(result["wall_s"]), float(result["cpu_s"])
            side.rates.append(MESSAGES / wall)
            side.cpu_rates.append(MESSAGES / cpu)
            side.top1 = [str(label) for label in result["top1"]]
            print(
                f"{round_no:>5} {side.name:>6} {loop:>11.2f} {MESSAGES / wall:>11,.0f} "
                f"{MESSAGES / cpu:>14,.0f}"
            )
    before, after = sides
    same = sum(a == b for a, b in zip(before.top1, after.top1, strict=True))
    print(f"top-1 agreement before/after on the {MESSAGES:,} messages: {same / MESSAGES:.2%}")
    for side in sides:
        print(
            f"{side.name}: median {statistics.median(side.rates):,.0f} msgs/s wall, "
            f"{statistics.median(side.cpu_rates):,.0f} per CPU second "
            f"(target >= 1,000/s in one process)"
        )
    ratio = statistics.median(after.cpu_rates) / statistics.median(before.cpu_rates)
    print(f"after / before per CPU second: x{ratio:.2f}")
    for side in sides:
        side.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
