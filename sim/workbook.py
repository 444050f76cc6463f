"""income_at_risk.xlsx: the finance tables laid out for a finance lead (openpyxl).

Sheets: Summary; one per scenario (providers as rows, years as columns:
mean, then the 95% interval); Plan comparison; Plan discrepancies; Tariffs
and rules; Assumptions. Currency cells carry a number format, so the values
stay numbers a finance lead can reuse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from sim.finance import FinanceInputs
from sim.loading import ParameterNote
from sim.store import atomic_write
from sim.tables import flatten

CURRENCY = '"£"#,##0;[Red]-"£"#,##0'
HEADER_FILL = PatternFill("solid", fgColor="005EB8")  # NHS blue
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=13)


def _header(ws: Worksheet, row: int, names: Sequence[str]) -> None:
    for col, name in enumerate(names, start=1):
        cell = ws.cell(row=row, column=col, value=name)
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _widths(ws: Worksheet, widths: Mapping[int, float]) -> None:
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width


def _provider_year_table(
    ws: Worksheet, start: int, title: str, frame: pd.DataFrame, value: str, names: Mapping[str, str]
) -> int:
    """Providers (and lines) as rows, financial years as columns; returns the next free row."""
    ws.cell(row=start, column=1, value=title).font = Font(bold=True)
    table = frame.pivot_table(
        index=["provider", "line"], columns="financial_year", values=value, aggfunc="first"
    )
    years = list(table.columns)
    _header(ws, start + 1, ["provider", "line", *years])
    row = start + 2
    for (provider, line), values in table.iterrows():
        ws.cell(row=row, column=1, value=names.get(provider, provider))
        ws.cell(row=row, column=2, value=line.replace("_", " "))
        if line == "total_simulated":
            ws.cell(row=row, column=2).font = Font(bold=True)
        for col, year in enumerate(years, start=3):
            cell = ws.cell(row=row, column=col, value=float(values[year]))
            cell.number_format = CURRENCY
        row += 1
    return row + 1


def write_workbook(
    path: Path,
    finance: pd.DataFrame,
    comparison: pd.DataFrame,
    discrepancies: pd.DataFrame,
    inputs: FinanceInputs,
    manifest: Mapping[str, Any],
) -> None:
    wb = Workbook()
    names = {p.id: p.name for p in inputs.book.provider}
    reference = manifest.get("reference_scenario", "do-nothing")
    reps = manifest.get("replications", {}).get("used", "?")
    run_id = f"{manifest.get('area_name', '')} · seed {manifest.get('seed')} · {reps} replications"
    scenarios = [s for s in dict.fromkeys(finance["scenario"]) if s != reference]

    ws = wb.active
    ws.title = "Summary"
    ws["A1"] = f"Income at risk vs {reference}, simulated (£, mean of {reps} replications)"
    ws["A1"].font = TITLE_FONT
    ws["A2"] = (
        f"{run_id}. Positive = income the provider loses against {reference} in the same year; "
        "intervals are paired 95% t-intervals across replications (see each scenario's sheet)."
    )
    row = 4
    for scenario in scenarios:
        totals = finance[(finance["scenario"] == scenario) & (finance["line"] == "total_simulated")]
        row = _provider_year_table(
            ws, row, f"Scenario: {scenario}", totals, "income_at_risk", names
        )
    if not comparison.empty:
        ws.cell(
            row=row, column=1, value="The plan's flat method vs simulated, final year"
        ).font = Font(bold=True)
        row = _comparison_rows(ws, row + 1, comparison, names)
    _widths(ws, {1: 44, 2: 22, **{c: 16 for c in range(3, 10)}})
    ws.freeze_panes = "A4"

    for scenario in scenarios:
        sheet = wb.create_sheet(scenario[:31])
        sheet["A1"] = f"{scenario}: income at risk vs {reference} (£)"
        sheet["A1"].font = TITLE_FONT
        sheet["A2"] = run_id
        mine = finance[finance["scenario"] == scenario]
        r = _provider_year_table(sheet, 4, "Mean income at risk", mine, "income_at_risk", names)
        r = _provider_year_table(sheet, r, "95% interval: low", mine, "ci_low", names)
        r = _provider_year_table(sheet, r, "95% interval: high", mine, "ci_high", names)
        r = _provider_year_table(
            sheet, r, f"Income under {reference} (mean)", mine, "baseline_income", names
        )
        _provider_year_table(
            sheet, r, f"Income under {scenario} (mean)", mine, "scenario_income", names
        )
        _widths(sheet, {1: 44, 2: 22, **{c: 16 for c in range(3, 10)}})

    sheet = wb.create_sheet("Plan comparison")
    sheet["A1"] = "The plan's flat-percentage method beside the simulated income at risk"
    sheet["A1"].font = TITLE_FONT
    _comparison_rows(sheet, 3, comparison, names)
    _widths(sheet, {1: 44, 2: 18, 3: 14, **{c: 16 for c in range(4, 9)}})

    sheet = wb.create_sheet("Plan discrepancies")
    sheet["A1"] = (
        "Where the plan contradicts itself: targets asking for different levels, and published "
        "figures that do not reconcile with the table computed from its inputs"
    )
    sheet["A1"].font = TITLE_FONT
    _header(sheet, 3, ["kind", "item", "first", "second", "difference", "unit", "arithmetic"])
    for i, rec in enumerate(discrepancies.itertuples(), start=4):
        numbers = (float(rec.first_value), float(rec.second_value), float(rec.difference))
        cells = (rec.kind, rec.item, *numbers, rec.unit)
        for col, value in enumerate(cells, start=1):
            cell = sheet.cell(row=i, column=col, value=value)
            if col in (3, 4, 5):
                cell.number_format = CURRENCY if rec.unit == "£" else "#,##0"
        sheet.cell(row=i, column=7, value=rec.arithmetic)
    if discrepancies.empty:
        sheet["A4"] = "none: the targets agree and every published row and total reconciles"
    _widths(sheet, {1: 18, 2: 50, 3: 16, 4: 16, 5: 16, 6: 14, 7: 110})

    sheet = wb.create_sheet("Tariffs and rules")
    sheet["A1"] = "Tariffs and payment rules used"
    sheet["A1"].font = TITLE_FONT
    _parameter_rows(sheet, 3, flatten(inputs.tariffs.model_dump()), inputs.notes, "tariffs.")

    sheet = wb.create_sheet("Assumptions")
    sheet["A1"] = "Contract lines and assumptions"
    sheet["A1"].font = TITLE_FONT
    _header(
        sheet,
        3,
        [
            "provider",
            "line",
            "income (£)",
            "plan method",
            "plan share",
            "simulated from",
            "confidence",
            "source",
        ],
    )
    r = 4
    for p_index, provider in enumerate(inputs.book.provider):
        for l_index, line in enumerate(provider.line):
            note = inputs.notes.get(f"providers.provider.{p_index}.line.{l_index}.income")
            values = (
                provider.name,
                line.label,
                line.income,
                line.plan_method,
                line.plan_share,
                line.simulated,
                note.confidence if note else "",
                note.source if note else "",
            )
            for col, value in enumerate(values, start=1):
                cell = sheet.cell(row=r, column=col, value=value)
                if col == 3:
                    cell.number_format = CURRENCY
            r += 1
    r += 1
    for text in (
        f"Income at risk = income under {reference} minus income under the scenario, "
        "same replication and year.",
        "Simulated income = simulated activity x tariff under the payment rules "
        "on the 'Tariffs and rules' sheet.",
        "Lines the model does not simulate (electives, CQUIN, re-procurement) "
        "appear only in the plan method.",
        "Confidence: S stated in the plan, P published national figure, "
        "E estimate (an assumption).",
        f"Run: {run_id}; created {manifest.get('created', '')}; "
        f"tool {manifest.get('version', '')}.",
    ):
        sheet.cell(row=r, column=1, value=text)
        r += 1
    _widths(sheet, {1: 44, 2: 40, 3: 16, 4: 12, 5: 10, 6: 14, 7: 11, 8: 90})
    atomic_write(path, lambda p: wb.save(p))


def _comparison_rows(
    ws: Worksheet, start: int, comparison: pd.DataFrame, names: Mapping[str, str]
) -> int:
    _header(
        ws,
        start,
        [
            "provider",
            "line",
            "scenario",
            "plan amount",
            "simulated mean",
            "95% low",
            "95% high",
            "simulated from",
        ],
    )
    row = start + 1
    for rec in comparison.itertuples():
        values = (
            names.get(rec.provider, rec.provider),
            rec.line.replace("_", " "),
            f"{rec.scenario} ({rec.financial_year})",
            rec.plan_amount,
            rec.simulated_mean,
            rec.ci_low,
            rec.ci_high,
            rec.simulated_from,
        )
        for col, value in enumerate(values, start=1):
            if isinstance(value, float) and value != value:  # NaN: not simulated
                value = None
            cell = ws.cell(row=row, column=col, value=value)
            if 4 <= col <= 7:
                cell.number_format = CURRENCY
        row += 1
    return row + 1


def _parameter_rows(
    ws: Worksheet,
    start: int,
    flat: Mapping[str, object],
    notes: Mapping[str, ParameterNote],
    prefix: str,
) -> None:
    _header(ws, start, ["parameter", "value", "unit", "confidence", "source"])
    for row, (path, value) in enumerate(flat.items(), start=start + 1):
        note = notes.get(prefix + path)
        for col, cell_value in enumerate(
            (
                path,
                value,
                note.unit if note else "",
                note.confidence if note else "",
                note.source if note else "",
            ),
            start=1,
        ):
            ws.cell(row=row, column=col, value=cell_value)
    _widths(ws, {1: 42, 2: 12, 3: 44, 4: 11, 5: 90})
