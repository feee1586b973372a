"""The double ranking as Excel workbooks for the 督查考核办 (Chinese headers). Written by the
project's one workbook writer (:func:`kuaiban.metrics.excel.workbook`), whose every cell goes
through :mod:`kuaiban.core.spreadsheet` (formula-like text kept as text)."""

from __future__ import annotations

from typing import Any

from kuaiban.metrics.excel import Sheet, workbook

CADRE_HEADERS = (
    "领导班子",
    "排名",
    "姓名",
    "账号",
    "综合得分",
    "包保企业数",
    "走访企业数",
    "走访覆盖率",
    "包保走访次数",
    "企业问题数",
    "已办结",
    "办结率",
    "按期答复",
    "按期率",
    "已评价",
    "满意",
    "满意率",
)
KEY_WORK_HEADERS = (
    "考核层级",
    "排名",
    "单位",
    "综合得分",
    "督查事项数",
    "红牌",
    "已销号",
    "销号率",
    "按期销号",
    "按期销号率",
    "超期未答复",
    "答复退回次数",
)


def _pct(value: float | None) -> float | str:
    return value if value is not None else "—"


def _or_dash(value: Any) -> Any:
    return value if value is not None else "—"


def cadre_workbook(data: dict[str, Any]) -> bytes:
    rows = []
    for team in data["teams"]:
        for c in team["cadres"]:
            rows.append(
                [
                    team["name"],
                    c["rank"] if c["rank"] is not None else "未排名",
                    c["name"],
                    c["username"],
                    _or_dash(c["score"]),
                    c["enterprises"],
                    c["enterprises_visited"],
                    _pct(c["visit_coverage"]),
                    c["visits"],
                    c["problems"],
                    c["closed"],
                    _pct(c["closure_rate"]),
                    c["replied_on_time"],
                    _pct(c["on_time_rate"]),
                    c["rated"],
                    c["satisfied"],
                    _pct(c["satisfaction_rate"]),
                ]
            )
    w = data["weights"]
    note = (
        f"综合得分 = {w['visit_coverage']}% × 走访覆盖率 + {w['closure_rate']}% × 办结率 + "
        f"{w['on_time_rate']}% × 按期率 + {w['satisfaction_rate']}% × 满意率"
        "（某项无数据时按其余各项权重折算）；同分同名次。"
    )
    return workbook(
        [
            Sheet(
                f"{data['period']} 班子内部排名",
                CADRE_HEADERS,
                rows,
                widths=(16, 6, 16, 14, 9, 9, 9, 10, 10, 9, 8, 8, 8, 8, 8, 8, 8),
                formats={7: "0.0%", 11: "0.0%", 13: "0.0%", 16: "0.0%"},
                note=note,
            )
        ]
    )


def key_work_workbook(data: dict[str, Any]) -> bytes:
    rows = []
    for tier in data["tiers"]:
        for u in tier["units"]:
            rows.append(
                [
                    tier["name"],
                    u["rank"] if u["rank"] is not None else "未排名",
                    u["name"],
                    _or_dash(u["score"]),
                    u["orders"],
                    u["red"],
                    u["cleared"],
                    _pct(u["clearance_rate"]),
                    u["closed_on_time"],
                    _pct(u["on_time_rate"]),
                    u["overdue_open"],
                    u["sent_back"],
                ]
            )
    w = data["weights"]
    note = (
        f"综合得分 = {w['on_time_rate']}% × 按期销号率 + {w['clearance_rate']}% × 销号率；"
        "撤销的督查事项不计；无督查事项的单位不排名。"
    )
    return workbook(
        [
            Sheet(
                f"{data['period']} 重点工作排名",
                KEY_WORK_HEADERS,
                rows,
                widths=(12, 6, 18, 9, 10, 6, 8, 8, 9, 10, 10, 12),
                formats={7: "0.0%", 9: "0.0%"},
                note=note,
            )
        ]
    )
