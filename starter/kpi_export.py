"""The KPI report and the reform figures as a city's reform office files them: CSV (UTF-8
with a byte-order mark, so Excel opens the Chinese headers as text) and Excel (.xlsx,
openpyxl): one sheet of KPIs per group, one of the reform figures, one of the ratings.
The numbers are the JSON report's, unrounded further; rates are fractions (0.9412)."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

from domain.notices import local_time
from starter.kpis import Figures, KpiReport, ReformReport

__all__ = ["FIGURE_COLUMNS", "kpi_csv", "kpi_rows", "kpi_xlsx", "reform_csv", "reform_rows"]

# (field of Figures, the header the reform office reads)
FIGURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("cases", "办件数"),
    ("accepted", "受理"),
    ("refused", "不予受理"),
    ("lapsed", "逾期未补正"),
    ("corrected", "补正"),
    ("open", "在办"),
    ("items", "事项数"),
    ("items_decided", "已决定事项"),
    ("on_time_promised", "按时办结率(承诺时限)"),
    ("on_time_statutory", "按时办结率(法定时限)"),
    ("working_days_p50", "实际工作日P50"),
    ("working_days_p90", "实际工作日P90"),
    ("promised_days_mean", "承诺时限(平均工作日)"),
    ("statutory_days_mean", "法定时限(平均工作日)"),
    ("overdue_now", "当前逾期"),
    ("escalations_stage_1", "一级督办"),
    ("escalations_stage_2", "二级督办"),
    ("trips_per_case", "件均跑动次数"),
    ("materials_per_case", "件均材料数"),
    ("steps_per_case", "件均环节数"),
    ("pledges_kept", "容缺按时补齐"),
    ("pledges_broken", "容缺逾期未补"),
    ("pledges_open", "容缺待补"),
    ("commitment_items", "告知承诺事项"),
    ("inspections_passed", "核查通过"),
    ("inspections_failed", "核查不通过"),
    ("false_commitments", "虚假承诺"),
    ("revoked", "撤销"),
)
SCOPES = (
    ("by_hall", "大厅"),
    ("by_department", "部门"),
    ("by_item", "事项"),
    ("by_bundle", "一件事"),
)
KPI_HEADER = ["范围", "名称", *(label for _, label in FIGURE_COLUMNS)]
REFORM_HEADER = [
    "一件事",
    "名称",
    "办结件数",
    "指标",
    "逐项办理基线",
    "实测",
    "实测变化%",
    "目录声明",
    "声明变化%",
    "报道变化%",
    "比较口径",
]
MEASURE_LABELS = {"time": "时间", "steps": "环节", "trips": "跑动", "materials": "材料"}


def _cells(figures: Figures) -> list[Any]:
    return [getattr(figures, name) for name, _ in FIGURE_COLUMNS]


def kpi_rows(report: KpiReport) -> list[list[Any]]:
    """The header, the whole selection, then one row per hall, department, item, bundle."""
    rows: list[list[Any]] = [KPI_HEADER, ["合计", "全部", *_cells(report.figures)]]
    for attribute, label in SCOPES:
        groups: dict[str, Figures] = getattr(report, attribute)
        rows += [[label, name, *_cells(f)] for name, f in groups.items()]
    return rows


def reform_rows(reform: ReformReport) -> list[list[Any]]:
    rows: list[list[Any]] = [REFORM_HEADER]
    for bundle in reform.bundles:
        for r in bundle.rows:
            rows.append(
                [
                    bundle.bundle,
                    bundle.name,
                    bundle.cases,
                    MEASURE_LABELS.get(r.measure, r.measure),
                    r.baseline,
                    r.measured,
                    r.measured_percent,
                    r.declared,
                    r.declared_percent,
                    r.story_percent,
                    r.compares,
                ]
            )
    return rows


def _csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return "\ufeff" + out.getvalue()


def kpi_csv(report: KpiReport) -> str:
    return _csv(kpi_rows(report))


def reform_csv(reform: ReformReport) -> str:
    return _csv(reform_rows(reform))


def kpi_xlsx(report: KpiReport, reform: ReformReport | None = None) -> bytes:
    """KPIs (指标), the reform figures (改革成效) when given, and the ratings (好差评)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its first sheet
    sheet.title = "指标"
    for row in kpi_rows(report):
        sheet.append(row)
    sheet.append([])
    sheet.append(["统计截至", local_time(report.as_of)])
    filters = (
        ("起始日", report.since),
        ("截止日", report.until),
        ("大厅", report.hall),
        ("部门", report.department),
        ("事项", report.item_code),
        ("一件事", report.bundle),
    )
    for label, value in filters:
        if value is not None:
            sheet.append([label, str(value)])
    if reform is not None:
        reform_sheet = book.create_sheet("改革成效")
        for row in reform_rows(reform):
            reform_sheet.append(row)
        reform_sheet.append([])
        reform_sheet.append(["目录承诺时限较法定时限变化%", reform.promised_vs_statutory_percent])
        for note in reform.notes:
            reform_sheet.append([note])
    ratings = book.create_sheet("好差评")
    figures = report.ratings
    ratings.append(["评价数", "好评", "好评率", "差评", "差评整改率", "回访逾期", "申诉排除"])
    ratings.append(
        [
            figures.ratings,
            figures.good,
            figures.good_rate,
            figures.bad,
            figures.rectification_rate,
            figures.follow_ups_overdue,
            figures.excluded_by_appeal,
        ]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
