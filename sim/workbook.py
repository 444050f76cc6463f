"""income_at_risk.xlsx: every pound as activity x price x rule, in Excel formulas.

Written with XlsxWriter because it stores each formula *with* its computed
value: the workbook opens correctly in any reader without recalculation, and
a finance lead who changes a price on the Inputs sheet sees every total
follow. Sheets, in reading order:

- Summary: income at risk per provider and year, commissioner's net position.
- Inputs: every price as published, its price year, the uplift to the price
  base and the price used (formulas), the payment rules, the marginal-rate
  threshold's derivation, reconciliation factors and the cost model.
- Activity: one row per scenario, replication, year, line and component:
  recorded activity, priced activity, price, scale and £ (formulas).
- Lines: the mean over replications of each component (AVERAGEIFS).
- At risk / Decomposition: reference minus scenario (SUMIFS), with the
  paired 95% intervals beside them as values (they come from replications).
- Reconciliation, Investment, Net position, Plan comparison, Plan
  discrepancies, Contract lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from sim.cost_file import CostInputs
from sim.costs import INVESTMENT, NET_POSITION, PROVIDER_INCOME_AT_RISK, SPEND_AVOIDED
from sim.finance import BLOCK, MARGINAL_RATE, READMISSION_RULE, effect_order
from sim.store import atomic_write
from sim.tariffs import FinanceInputs, financial_year_label, financial_year_start

if TYPE_CHECKING:
    from sim.pricing import FinanceTables

CURRENCY = '"£"#,##0;[Red]-"£"#,##0'
PRICE = '"£"#,##0.00;[Red]-"£"#,##0.00'
COUNT = "#,##0.0"
FACTOR = "0.0000"
SHARE = "0.0%"
NHS_BLUE = "#005EB8"


def _name(path: str) -> str:
    """A defined name for a dotted input path (Excel names allow letters, digits, _)."""
    return "p_" + re.sub(r"\W", "_", path)


def _line_name(kind: str, provider: str, line: str) -> str:
    """A defined name for one contract line's scale factor or block payment."""
    return re.sub(r"\W", "_", f"{kind}_{provider}_{line}")


class Formats:
    def __init__(self, wb: Workbook):
        self.title = wb.add_format({"bold": True, "font_size": 13})
        self.bold = wb.add_format({"bold": True})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.header = wb.add_format(
            {"bold": True, "font_color": "white", "bg_color": NHS_BLUE, "text_wrap": True}
        )
        self.currency = wb.add_format({"num_format": CURRENCY})
        self.currency_bold = wb.add_format({"num_format": CURRENCY, "bold": True})
        self.price = wb.add_format({"num_format": PRICE})
        self.count = wb.add_format({"num_format": COUNT})
        self.factor = wb.add_format({"num_format": FACTOR})
        self.share = wb.add_format({"num_format": SHARE})
        self.input = wb.add_format({"bg_color": "#FFF2CC", "border": 1})  # editable cells
        self.input_price = wb.add_format({"bg_color": "#FFF2CC", "border": 1, "num_format": PRICE})
        self.input_share = wb.add_format({"bg_color": "#FFF2CC", "border": 1, "num_format": SHARE})
        self.muted = wb.add_format({"italic": True, "font_color": "#555555"})


def _sheet(
    wb: Workbook, f: Formats, name: str, title: str, notes: Sequence[str], widths: Sequence[float]
) -> tuple[Worksheet, int]:
    """A sheet with a title, note lines and print setup; returns it and the header row."""
    ws = wb.add_worksheet(name)
    ws.write(0, 0, title, f.title)
    for i, note in enumerate(notes, start=1):
        ws.write(i, 0, note, f.muted)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    header = len(notes) + 2
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header)
    ws.freeze_panes(header + 1, 0)
    ws.set_footer("&L&A&RPage &P of &N")
    return ws, header


def _table(
    ws: Worksheet, f: Formats, header: int, columns: Sequence[str], rows: int, name: str
) -> None:
    """Mark ``rows`` data rows under ``header`` as a named Excel table with filters."""
    last = header + max(rows, 1)
    ws.add_table(
        header,
        0,
        last,
        len(columns) - 1,
        {
            "name": name,
            "style": "Table Style Light 9",
            "columns": [{"header": c, "header_format": f.header} for c in columns],
        },
    )


class _Writer:
    """Writes the workbook; keeps the cell addresses formulas refer to."""

    def __init__(
        self,
        wb: Workbook,
        tables: FinanceTables,
        inputs: FinanceInputs,
        costs: CostInputs | None,
        manifest: Mapping[str, Any],
        pricing_name: str,
    ):
        self.wb, self.t, self.inputs, self.costs = wb, tables, inputs, costs
        self.f = Formats(wb)
        self.names = {p.id: p.name for p in inputs.book.provider}
        self.line_labels = {(p.id, ln.id): ln.label for p in inputs.book.provider for ln in p.line}
        self.reference = tables.pricing.reference
        reps = manifest.get("replications", {}).get("used", "?")
        self.run_id = (
            f"{manifest.get('area_name', '')} · seed {manifest.get('seed')} · {reps} replications"
            f" · pricing '{pricing_name}' · created {manifest.get('created', '')}"
        )
        self.scenarios = [
            s for s in dict.fromkeys(tables.finance["scenario"]) if s != self.reference
        ]
        years = tables.finance[["year", "financial_year"]].drop_duplicates().sort_values("year")
        self.years = list(zip(years["year"], years["financial_year"], strict=True))
        self.base_year = inputs.tariffs.price_base.financial_year

    # ------------------------------------------------------------------ inputs
    def inputs_sheet(self) -> None:
        f, t = self.f, self.inputs.tariffs
        ws, h = _sheet(
            self.wb,
            f,
            "Inputs",
            f"Prices, payment rules and costs (price base {self.base_year})",
            [
                "Yellow cells are inputs: change one and every formula in the workbook follows.",
                "Price used = published price x uplift factor to the price base "
                "(cost uplifts chained year by year).",
                "Trim points decide which bed days count as excess: changing one needs "
                "`ucsim finance --set non_elective.trim_point_days.<band>=N` (recorded activity).",
            ],
            [34, 14, 11, 12, 14, 40, 10, 80],
        )
        columns = [
            "input",
            "published",
            "price year",
            "uplift factor",
            "used",
            "unit",
            "confidence",
            "source",
        ]
        row = h
        for col, name in enumerate(columns):
            ws.write(row, col, name, f.header)
        row += 1
        uplift = t.price_base.cost_uplift
        uplift_rows: dict[str, int] = {}
        for year in sorted(uplift, key=financial_year_start):
            ws.write(row, 0, f"cost uplift into {year}")
            ws.write_number(row, 1, uplift[year], f.input_share)
            ws.write(row, 5, "share")
            note = self.inputs.notes.get("tariffs.price_base.cost_uplift")
            if note:
                ws.write(row, 6, note.confidence)
                ws.write(row, 7, note.source)
            name = "uplift_" + year.replace("/", "_")
            self.wb.define_name(name, f"=Inputs!{xl_rowcol_to_cell(row, 1, True, True)}")
            uplift_rows[year] = row
            row += 1
        self._price_rows(ws, row, "tariffs.", self.inputs.prices, self.inputs.notes)
        row += len(self.inputs.prices)
        row = self._rules(ws, row + 1)
        if self.costs is not None:
            row = self._cost_rows(ws, row + 1)

    def _uplift_formula(self, from_year: str) -> str:
        start, end = financial_year_start(from_year), financial_year_start(self.base_year)
        names = [
            "(1+uplift_" + financial_year_label(y).replace("/", "_") + ")"
            for y in range(min(start, end) + 1, max(start, end) + 1)
        ]
        if not names:
            return "=1"
        product = "*".join(names)
        return f"={product}" if end >= start else f"=1/({product})"

    def _price_rows(
        self, ws: Worksheet, row: int, prefix: str, prices: Mapping[str, Any], notes: Mapping
    ) -> None:
        f = self.f
        for path, price in prices.items():
            note = notes.get(f"{prefix}{path}") or notes.get(path)
            ws.write(row, 0, path)
            ws.write_number(row, 1, price.published, f.input_price)
            ws.write(row, 2, price.price_year)
            ws.write_formula(row, 3, self._uplift_formula(price.price_year), f.factor, price.factor)
            ws.write_formula(
                row,
                4,
                f"={xl_rowcol_to_cell(row, 1)}*{xl_rowcol_to_cell(row, 3)}",
                f.price,
                price.value,
            )
            ws.write(row, 5, note.unit if note else "")
            ws.write(row, 6, note.confidence if note else "")
            ws.write(row, 7, note.source if note else "")
            self.wb.define_name(_name(path), f"=Inputs!{xl_rowcol_to_cell(row, 4, True, True)}")
            row += 1

    def _rule(
        self, ws: Worksheet, row: int, label: str, value: Any, name: str, fmt=None, note=None
    ) -> int:
        ws.write(row, 0, label)
        if isinstance(value, bool):
            ws.write_boolean(row, 1, value, self.f.input)
        else:
            ws.write(row, 1, value, fmt or self.f.input)
        if note is not None:
            ws.write(row, 5, note.unit)
            ws.write(row, 6, note.confidence)
            ws.write(row, 7, note.source)
        self.wb.define_name(name, f"=Inputs!{xl_rowcol_to_cell(row, 1, True, True)}")
        return row + 1

    def _rules(self, ws: Worksheet, row: int) -> int:
        f, t, notes = self.f, self.inputs.tariffs.non_elective, self.inputs.notes
        ws.write(row, 0, "Payment rules", f.bold)
        row += 1
        m = t.marginal_rate
        row = self._rule(ws, row, "marginal rate applies", m.enabled, "marginal_enabled")
        row = self._rule(
            ws,
            row,
            "marginal rate paid",
            m.rate,
            "marginal_rate",
            f.input_share,
            notes.get("tariffs.non_elective.marginal_rate.rate"),
        )
        th = self.t.pricing.threshold
        ws.write(row, 0, f"simulated emergency admissions {th.first_year}")
        ws.write_number(row, 1, th.baseline_admissions, f.count)
        ws.write(row, 5, "spells, reference scenario, mean of replications (from the run)")
        admissions = xl_rowcol_to_cell(row, 1)
        row += 1
        ws.write(row, 0, "growth per year (to deflate)")
        ws.write_number(row, 1, th.growth_per_year, f.input_share)
        note = notes.get("tariffs.non_elective.marginal_rate.growth_per_year")
        if note:
            ws.write(row, 6, note.confidence)
            ws.write(row, 7, note.source)
        growth = xl_rowcol_to_cell(row, 1)
        row += 1
        ws.write(row, 0, f"years back to {th.baseline_year}")
        ws.write_number(row, 1, th.years)
        years = xl_rowcol_to_cell(row, 1)
        row += 1
        ws.write(row, 0, "marginal-rate threshold (spells)")
        if th.derived:
            ws.write_formula(row, 1, f"={admissions}/(1+{growth})^{years}", f.count, th.spells)
            ws.write(row, 5, "derived: admissions / (1 + growth)^years")
        else:
            ws.write_number(row, 1, th.spells, f.input)
            ws.write(row, 5, "fixed in tariffs.toml")
        ws.write(row, 7, th.derivation())
        self.wb.define_name(
            "marginal_threshold", f"=Inputs!{xl_rowcol_to_cell(row, 1, True, True)}"
        )
        row += 1
        r = t.readmissions
        row = self._rule(ws, row, "readmission rule applies", r.enabled, "readmission_enabled")
        row = self._rule(
            ws,
            row,
            "readmissions paid per admission (max)",
            r.max_rate,
            "readmission_max_rate",
            f.input_share,
            notes.get("tariffs.non_elective.readmissions.max_rate"),
        )
        for band, days in t.trim_point_days.by_band().items():
            ws.write(row, 0, f"trim point, {band}")
            ws.write_number(row, 1, days)
            ws.write(row, 5, "days (recorded activity depends on it: change with ucsim finance)")
            row += 1
        note = notes.get("tariffs.non_elective.trim_point_days")
        if note:
            ws.write(row - 1, 7, note.source)
        ws.write(row, 0, "Reconciliation to contract lines", f.bold)
        ws.write(row, 1, self.inputs.tariffs.reconciliation.method)
        ws.write(row, 5, "report: priced at tariff, gap shown; scale: lines scaled to contract")
        row += 1
        for (provider_id, line_id), factor in self.t.pricing.scale.items():
            label = f"scale, {self.names[provider_id]}: {self.line_labels[(provider_id, line_id)]}"
            row = self._rule(
                ws, row, label, factor, _line_name("scale", provider_id, line_id), f.input
            )
        for p in self.inputs.book.provider:
            for contract in p.line:
                if (
                    contract.simulated == "community"
                    and self.inputs.tariffs.community.payment == "block"
                ):
                    row = self._rule(
                        ws,
                        row,
                        f"block contract, {p.name}: {contract.label}",
                        contract.income,
                        _line_name("block", p.id, contract.id),
                        f.input_price,
                    )
        return row

    def _cost_rows(self, ws: Worksheet, row: int) -> int:
        assert self.costs is not None
        f = self.f
        ws.write(row, 0, f"Intervention unit costs (file {Path(self.costs.file).name})", f.bold)
        row += 1
        self._price_rows(ws, row, "", self.costs.prices, self.costs.notes)
        row += len(self.costs.prices)
        hours = self.costs.costs.front_door_streaming.hours_per_day
        return self._rule(
            ws,
            row,
            "front_door_streaming.hours_per_day",
            hours,
            "streaming_hours_per_day",
            f.input,
            self.costs.notes.get("front_door_streaming.hours_per_day"),
        )

    # ---------------------------------------------------------------- activity
    ACTIVITY_COLUMNS: ClassVar[tuple[str, ...]] = (
        "scenario",
        "replication",
        "year",
        "financial year",
        "provider",
        "line",
        "component",
        "effect",
        "recorded",
        "activity priced",
        "unit",
        "price (£)",
        "scale",
        "amount (£)",
    )

    def activity_sheet(self) -> None:
        f = self.f
        c = self.t.pricing.components
        ws, h = _sheet(
            self.wb,
            f,
            "Activity",
            "Priced activity: one row per scenario, replication, year, line and component",
            [
                "amount = activity priced x price x scale. Prices come from Inputs; the marginal "
                "rate and readmission rows price the spells above their thresholds at minus the "
                "line's average spell price.",
                self.run_id,
            ],
            [12, 6, 5, 9, 30, 24, 40, 26, 12, 12, 11, 11, 8, 14],
        )
        order = {
            (p.id, ln.id): i
            for i, (p, ln) in enumerate((p, ln) for p in self.inputs.book.provider for ln in p.line)
        }
        c = c.assign(_line=[order[k] for k in zip(c["provider"], c["line"], strict=True)])
        c = c.sort_values(["scenario", "replication", "year", "_line"], kind="stable")
        self._activity_header = h
        row = h + 1
        block_start = {}
        for rec in c.itertuples(index=False):
            key = (rec.scenario, rec.replication, rec.year, rec.provider, rec.line)
            if key not in block_start:
                block_start[key] = row
            first = block_start[key]
            self._activity_row(ws, row, rec, first)
            row += 1
        _table(ws, f, h, self.ACTIVITY_COLUMNS, row - h - 1, "Activity")
        self.activity_last = row - 1

    def _activity_row(self, ws: Worksheet, row: int, rec: Any, first: int) -> None:
        f = self.f
        r = row + 1  # Excel's 1-based row number
        s, a = first + 1, first + 2  # the line's 2+ day and short-stay spell rows
        values = (
            rec.scenario,
            int(rec.replication),
            int(rec.year),
            rec.financial_year,
            self.names[rec.provider],
            self.line_labels[(rec.provider, rec.line)],
            rec.component,
            rec.effect,
        )
        for col, value in enumerate(values):
            ws.write(row, col, value)
        ws.write_number(row, 8, float(rec.recorded), f.count)
        if rec.effect == MARGINAL_RATE:
            ws.write_formula(
                row,
                9,
                f"=IF(marginal_enabled,MAX(I{r}-marginal_threshold,0),0)",
                f.count,
                float(rec.activity),
            )
            ws.write_formula(
                row,
                11,
                f"=-IFERROR((J{s}*L{s}+J{a}*L{a})/(J{s}+J{a}),0)*(1-marginal_rate)",
                f.price,
                float(rec.price),
            )
        elif rec.effect == READMISSION_RULE:
            spells = f"I{r - 1}"  # the marginal-rate row records the line's spells
            ws.write_formula(
                row,
                9,
                f"=IF(readmission_enabled,MAX(I{r}-readmission_max_rate*{spells},0),0)",
                f.count,
                float(rec.activity),
            )
            ws.write_formula(
                row,
                11,
                f"=-IFERROR((J{s}*L{s}+J{a}*L{a})/(J{s}+J{a}),0)",
                f.price,
                float(rec.price),
            )
        elif rec.effect == BLOCK:
            ws.write_number(row, 9, float(rec.activity), f.count)
            ws.write_formula(
                row,
                11,
                "=" + _line_name("block", rec.provider, rec.line),
                f.price,
                float(rec.price),
            )
        else:
            ws.write_number(row, 9, float(rec.activity), f.count)
            ws.write_formula(row, 11, f"={_name(rec.price_input)}", f.price, float(rec.price))
        ws.write(row, 10, rec.unit)
        ws.write_formula(
            row, 12, "=" + _line_name("scale", rec.provider, rec.line), f.factor, float(rec.scale)
        )
        ws.write_formula(row, 13, f"=J{r}*L{r}*M{r}", f.currency, float(rec.amount))

    # ------------------------------------------------------------------- lines
    LINE_COLUMNS: ClassVar[tuple[str, ...]] = (
        "scenario",
        "year",
        "financial year",
        "provider",
        "line",
        "component",
        "effect",
        "paid by activity",
        "mean activity",
        "unit",
        "mean price (£)",
        "mean amount (£)",
    )

    def lines_sheet(self) -> None:
        f = self.f
        c = self.t.pricing.components
        ws, h = _sheet(
            self.wb,
            f,
            "Lines",
            "Mean over replications of each priced component (AVERAGEIFS over Activity)",
            ["'paid by activity' = no for a block contract: the commissioner pays it whatever."],
            [12, 5, 9, 30, 24, 40, 26, 9, 13, 11, 12, 14],
        )
        means = (
            c.groupby(
                ["scenario", "year", "financial_year", "provider", "line", "component"], sort=False
            )
            .agg(
                effect=("effect", "first"),
                unit=("unit", "first"),
                activity=("activity", "mean"),
                price=("price", "mean"),
                amount=("amount", "mean"),
            )
            .reset_index()
        )
        first, last = self._activity_header + 2, self.activity_last + 1
        rng = {
            key: f"Activity!${col}${first}:${col}${last}"
            for key, col in (
                ("scenario", "A"),
                ("year", "C"),
                ("provider", "E"),
                ("line", "F"),
                ("component", "G"),
                ("activity", "J"),
                ("price", "L"),
                ("amount", "N"),
            )
        }
        row = h + 1
        for rec in means.itertuples(index=False):
            r = row + 1
            block = rec.effect == BLOCK
            values = (
                rec.scenario,
                int(rec.year),
                rec.financial_year,
                self.names[rec.provider],
                self.line_labels[(rec.provider, rec.line)],
                rec.component,
                rec.effect,
                "no" if block else "yes",
            )
            for col, value in enumerate(values):
                ws.write(row, col, value)
            criteria = (
                f"{rng['scenario']},A{r},{rng['year']},B{r},{rng['provider']},D{r},"
                f"{rng['line']},E{r},{rng['component']},F{r}"
            )
            ws.write_formula(
                row, 8, f"=AVERAGEIFS({rng['activity']},{criteria})", f.count, float(rec.activity)
            )
            ws.write(row, 9, rec.unit)
            ws.write_formula(
                row, 10, f"=AVERAGEIFS({rng['price']},{criteria})", f.price, float(rec.price)
            )
            ws.write_formula(
                row, 11, f"=AVERAGEIFS({rng['amount']},{criteria})", f.currency, float(rec.amount)
            )
            row += 1
        _table(ws, f, h, self.LINE_COLUMNS, row - h - 1, "Lines")
        self.lines_last = row
        self.lines_header = h

    def _lines_sum(self, criteria: Sequence[tuple[str, str]]) -> str:
        """SUMIFS over the Lines sheet's mean amounts; criteria as (column letter, cell)."""
        first, last = self.lines_header + 2, self.lines_last
        parts = [f"Lines!$L${first}:$L${last}"]
        for col, cell in criteria:
            parts += [f"Lines!${col}${first}:${col}${last}", cell]
        return "SUMIFS(" + ",".join(parts) + ")"

    # ---------------------------------------------------------------- at risk
    def at_risk_sheet(self) -> None:
        f = self.f
        ws, h = _sheet(
            self.wb,
            f,
            "At risk",
            f"Income at risk against {self.reference} (£): reference income minus scenario "
            "income, same year",
            [
                "Means are formulas over the Lines sheet; the 95% interval is paired across "
                "replications (values: recompute with ucsim finance after changing inputs).",
                self.run_id,
            ],
            [12, 9, 5, 32, 40, 16, 16, 14, 14, 14, 16],
        )
        columns = (
            "scenario",
            "financial year",
            "year",
            "provider",
            "line",
            "reference income",
            "scenario income",
            "income at risk",
            "95% low",
            "95% high",
            "status",
        )
        fin = self.t.finance
        fin = fin[(fin["scenario"] != self.reference) & (fin["line"] != "total_simulated")]
        row = h + 1
        for rec in fin.itertuples(index=False):
            r = row + 1
            for col, value in enumerate(
                (
                    rec.scenario,
                    rec.financial_year,
                    int(rec.year),
                    self.names[rec.provider],
                    self.line_labels.get((rec.provider, rec.line), rec.line),
                )
            ):
                ws.write(row, col, value)
            if rec.status != "simulated":
                ws.write(row, 5, "not simulated", f.muted)
                ws.write(row, 6, "not simulated", f.muted)
                ws.write(row, 7, "not simulated", f.muted)
                ws.write(row, 10, rec.status)
                row += 1
                continue
            ws.write_formula(
                row,
                5,
                "="
                + self._lines_sum(
                    [("A", f'"{self.reference}"'), ("B", f"C{r}"), ("D", f"D{r}"), ("E", f"E{r}")]
                ),
                f.currency,
                float(rec.baseline_income),
            )
            ws.write_formula(
                row,
                6,
                "="
                + self._lines_sum([("A", f"A{r}"), ("B", f"C{r}"), ("D", f"D{r}"), ("E", f"E{r}")]),
                f.currency,
                float(rec.scenario_income),
            )
            ws.write_formula(
                row,
                7,
                f"=F{r}-G{r}",
                f.currency_bold,
                float(rec.baseline_income - rec.scenario_income),
            )
            _number(ws, row, 8, rec.ci_low, f.currency)
            _number(ws, row, 9, rec.ci_high, f.currency)
            ws.write(row, 10, rec.status)
            row += 1
        _table(ws, f, h, columns, row - h - 1, "AtRisk")

    def decomposition_sheet(self) -> None:
        f = self.f
        ws, h = _sheet(
            self.wb,
            f,
            "Decomposition",
            "What moves income at risk: fewer admissions, shorter stays, the payment rules",
            [
                "Each row is reference minus scenario for one effect (SUMIFS over Lines); they add "
                "up to the provider's simulated total. 95% intervals paired across replications.",
            ],
            [12, 9, 5, 32, 30, 16, 14, 14, 12],
        )
        columns = (
            "scenario",
            "financial year",
            "year",
            "provider",
            "effect",
            "income at risk",
            "95% low",
            "95% high",
            "share of total",
        )
        d = self.t.decomposition
        d = d[d["scenario"] != self.reference].copy()
        d["_order"] = d["effect"].map(effect_order)
        d = d.sort_values(["scenario", "year", "provider", "_order"], kind="stable")
        totals = d.groupby(["scenario", "year", "provider"])["income_at_risk"].sum()
        row = h + 1
        for rec in d.itertuples(index=False):
            r = row + 1
            for col, value in enumerate(
                (
                    rec.scenario,
                    rec.financial_year,
                    int(rec.year),
                    self.names[rec.provider],
                    rec.effect,
                )
            ):
                ws.write(row, col, value)
            ref = self._lines_sum(
                [("A", f'"{self.reference}"'), ("B", f"C{r}"), ("D", f"D{r}"), ("G", f"E{r}")]
            )
            mine = self._lines_sum([("A", f"A{r}"), ("B", f"C{r}"), ("D", f"D{r}"), ("G", f"E{r}")])
            value = float(rec.baseline_income - rec.scenario_income)
            ws.write_formula(row, 5, f"={ref}-{mine}", f.currency, value)
            _number(ws, row, 6, rec.ci_low, f.currency)
            _number(ws, row, 7, rec.ci_high, f.currency)
            total = float(totals[(rec.scenario, rec.year, rec.provider)])
            share = value / total if total else 0.0
            ws.write_formula(
                row,
                8,
                f"=IFERROR(F{r}/SUMIFS($F${h + 2}:$F$999999,$A${h + 2}:$A$999999,A{r},"
                f"$C${h + 2}:$C$999999,C{r},$D${h + 2}:$D$999999,D{r}),0)",
                f.share,
                share,
            )
            row += 1
        _table(ws, f, h, columns, row - h - 1, "Decomposition")

    # --------------------------------------------------------- reconciliation
    def reconciliation_sheet(self) -> None:
        f = self.f
        rec_frame = self.t.reconciliation
        first = self.t.pricing.threshold.first_year
        method = self.inputs.tariffs.reconciliation.method
        ws, h = _sheet(
            self.wb,
            f,
            "Reconciliation",
            f"Simulated {first} income ({self.reference}) against each contract line",
            [
                f"Method: {method}. "
                + (
                    "Income at risk is priced at tariff; the gap to the contract is shown here, "
                    "not removed."
                    if method == "report"
                    else "Each line's prices are scaled so its simulated baseline income "
                    "equals the contract line."
                ),
                "Simulated income is before scaling. Volumes: the contract's where the plan "
                "states one.",
            ],
            [32, 40, 16, 16, 16, 10, 14, 14, 12, 10, 9, 60],
        )
        columns = (
            "provider",
            "line",
            "contract income",
            "simulated income",
            "difference",
            "difference %",
            "contract volume",
            "simulated volume",
            "volume unit",
            "method",
            "scale",
            "note",
        )
        row = h + 1
        year0 = min(y for y, _ in self.years)
        for rec in rec_frame.itertuples(index=False):
            r = row + 1
            ws.write(row, 0, self.names[rec.provider])
            ws.write(row, 1, rec.label)
            ws.write_number(row, 2, float(rec.contract_income), f.currency)
            if not np.isfinite(float(rec.simulated_income)):  # a line not simulated
                for col in (3, 4, 5):
                    ws.write(row, col, "not simulated", f.muted)
                _number(ws, row, 6, rec.contract_volume, f.count, missing="not stated")
                ws.write(row, 9, rec.method)
                ws.write(row, 11, rec.note)
                row += 1
                continue
            simulated = self._lines_sum(
                [("A", f'"{self.reference}"'), ("B", str(year0)), ("D", f"A{r}"), ("E", f"B{r}")]
            )
            ws.write_formula(row, 3, f"={simulated}/K{r}", f.currency, float(rec.simulated_income))
            ws.write_formula(row, 4, f"=D{r}-C{r}", f.currency, float(rec.difference))
            ws.write_formula(
                row, 5, f"=IFERROR(E{r}/C{r},0)", f.share, _finite(rec.difference_share)
            )
            _number(ws, row, 6, rec.contract_volume, f.count, missing="not stated")
            ws.write_number(row, 7, float(rec.simulated_volume), f.count)
            ws.write(row, 8, rec.volume_unit)
            ws.write(row, 9, rec.method)
            ws.write_formula(
                row,
                10,
                "=" + _line_name("scale", rec.provider, rec.line),
                f.factor,
                float(rec.scale),
            )
            ws.write(row, 11, rec.note)
            row += 1
        _table(ws, f, h, columns, row - h - 1, "Reconciliation")

    # -------------------------------------------------------------- investment
    def investment_sheet(self) -> None:
        f = self.f
        inv = self.t.investment
        ws, h = _sheet(
            self.wb,
            f,
            "Investment",
            f"What each scenario's levers cost the commissioner, over {self.reference} (£)",
            [
                "quantity = what the scenario adds over the reference in that year; unit cost from "
                "Inputs (a staffed streaming day = hours per day x hourly cost)."
            ],
            [12, 9, 5, 22, 30, 14, 16, 12, 16],
        )
        columns = (
            "scenario",
            "financial year",
            "year",
            "lever",
            "item",
            "quantity",
            "unit",
            "unit cost (£)",
            "investment (£)",
        )
        rows = inv[inv["scenario"] != self.reference] if not inv.empty else inv
        row = h + 1
        for rec in rows.itertuples(index=False):
            r = row + 1
            for col, value in enumerate(
                (rec.scenario, rec.financial_year, int(rec.year), rec.lever, rec.item)
            ):
                ws.write(row, col, value)
            ws.write_number(row, 5, float(rec.quantity), f.count)
            ws.write(row, 6, rec.unit)
            unit = f"={_name(rec.cost_path)}"
            if rec.cost_path == "front_door_streaming.staff_hour":
                unit += "*streaming_hours_per_day"
            ws.write_formula(row, 7, unit, f.price, float(rec.unit_cost))
            ws.write_formula(row, 8, f"=F{r}*H{r}", f.currency, float(rec.investment))
            row += 1
        _table(ws, f, h, columns, row - h - 1, "Investment")
        self.investment_rows = (h + 2, row)

    # ------------------------------------------------------------ net position
    MEASURES: ClassVar[tuple[str, ...]] = (
        INVESTMENT,
        SPEND_AVOIDED,
        PROVIDER_INCOME_AT_RISK,
        NET_POSITION,
    )

    def _net_formula(self, measure: str, scenario: str, year: str, cells: Mapping[str, str]) -> str:
        """The formula of one net-position measure; ``scenario`` and ``year`` are cell
        references or literals, ``cells`` the measures already written."""
        first_inv, last_inv = self.investment_rows
        if measure == INVESTMENT:
            return (
                f"=SUMIFS(Investment!$I${first_inv}:$I${last_inv},"
                f"Investment!$A${first_inv}:$A${last_inv},{scenario},"
                f"Investment!$C${first_inv}:$C${last_inv},{year})"
            )
        reference = f'"{self.reference}"'
        paid = [("H", '"yes"')] if measure == SPEND_AVOIDED else []
        if measure in (SPEND_AVOIDED, PROVIDER_INCOME_AT_RISK):
            ref = self._lines_sum([("A", reference), ("B", year), *paid])
            mine = self._lines_sum([("A", scenario), ("B", year), *paid])
            return f"={ref}-{mine}"
        return f"={cells[SPEND_AVOIDED]}-{cells[INVESTMENT]}"

    def net_rows(self, ws: Worksheet, row: int) -> int:
        """Per scenario, year and measure: the mean (formula) and its interval (values)."""
        f = self.f
        net = self.t.net
        if net.empty:
            ws.write(row, 0, "no intervention cost model in this folder", f.muted)
            return row + 1
        first = row
        for scenario in self.scenarios:
            for year, fy in self.years:
                part = net[(net["scenario"] == scenario) & (net["year"] == year)]
                part = part.set_index("measure")
                cells: dict[str, str] = {}
                for measure in self.MEASURES:
                    r = row + 1
                    for col, value in enumerate((scenario, fy, int(year), measure)):
                        ws.write(row, col, value)
                    bold = measure == NET_POSITION
                    ws.write_formula(
                        row,
                        4,
                        self._net_formula(measure, f"A{r}", f"C{r}", cells),
                        f.currency_bold if bold else f.currency,
                        float(part.loc[measure, "value"]),
                    )
                    cells[measure] = f"E{r}"
                    _number(ws, row, 5, part.loc[measure, "ci_low"], f.currency)
                    _number(ws, row, 6, part.loc[measure, "ci_high"], f.currency)
                    row += 1
        columns = (
            "scenario",
            "financial year",
            "year",
            "measure",
            "mean (£)",
            "95% low",
            "95% high",
        )
        _table(ws, f, first - 1, columns, row - first, "NetPosition")
        return row

    def summary_net(self, ws: Worksheet, row: int) -> int:
        """Measures as rows, years as columns, per scenario (formulas, as on Net position)."""
        f = self.f
        if self.t.net.empty:
            ws.write(row, 0, "no intervention cost model in this folder", f.muted)
            return row + 1
        net = self.t.net
        for scenario in self.scenarios:
            ws.write(row, 0, f"Commissioner's net position: {scenario} (£, mean)", f.bold)
            row += 1
            ws.write(row, 0, "measure", f.header)
            ws.write(row, 1, "", f.header)
            for col, (_, fy) in enumerate(self.years, start=2):
                ws.write(row, col, fy, f.header)
            row += 1
            cells: dict[int, dict[str, str]] = {year: {} for year, _ in self.years}
            for measure in self.MEASURES:
                ws.write(row, 0, measure, f.bold if measure == NET_POSITION else None)
                for col, (year, _) in enumerate(self.years, start=2):
                    value = net[
                        (net["scenario"] == scenario)
                        & (net["year"] == year)
                        & (net["measure"] == measure)
                    ]["value"]
                    ws.write_formula(
                        row,
                        col,
                        self._net_formula(measure, f'"{scenario}"', str(year), cells[year]),
                        f.currency_bold if measure == NET_POSITION else f.currency,
                        float(value.iloc[0]),
                    )
                    cells[year][measure] = xl_rowcol_to_cell(row, col)
                row += 1
            row += 1
        return row

    def net_sheet(self) -> None:
        ws, h = _sheet(
            self.wb,
            self.f,
            "Net position",
            "The commissioner's net position per scenario and year (£)",
            [
                "Spend avoided = what the commissioner no longer pays for activity-priced lines "
                "(after the payment rules); block contracts save nothing.",
                "Net position = spend avoided - investment. Positive = the scenario saves money.",
            ],
            [12, 9, 5, 40, 16, 14, 14],
        )
        self.net_rows(ws, h + 1)

    # ------------------------------------------------------------------ summary
    def summary_sheet(self, ws: Worksheet) -> None:
        f = self.f
        ws.write(0, 0, f"Income at risk vs {self.reference} by provider (£, mean)", f.title)
        ws.write(1, 0, self.run_id, f.muted)
        ws.write(
            2,
            0,
            f"Prices in {self.base_year} terms. Reconciliation: "
            f"{self.inputs.tariffs.reconciliation.method} (see Reconciliation). Positive = "
            f"income the provider loses against {self.reference}; every figure is a formula "
            "over the Lines sheet.",
            f.muted,
        )
        for col, width in enumerate([44, 24, *[15] * len(self.years)]):
            ws.set_column(col, col, width)
        row = 4
        fy_cells = {}
        for scenario in self.scenarios:
            ws.write(row, 0, f"Scenario: {scenario}", f.bold)
            row += 1
            ws.write(row, 0, "provider", f.header)
            ws.write(row, 1, "simulated lines", f.header)
            for col, (year, fy) in enumerate(self.years, start=2):
                ws.write(row, col, fy, f.header)
                fy_cells[year] = col
            row += 1
            fin = self.t.finance
            for provider in self.inputs.book.provider:
                simulated = any(ln.simulated != "none" for ln in provider.line)
                ws.write(row, 0, provider.name)
                ws.write(row, 1, "yes" if simulated else "none: not simulated")
                for year, _ in self.years:
                    col = fy_cells[year]
                    if not simulated:
                        ws.write(row, col, "not simulated", f.muted)
                        continue
                    ref = self._lines_sum(
                        [("A", f'"{self.reference}"'), ("B", str(year)), ("D", f"$A{row + 1}")]
                    )
                    mine = self._lines_sum(
                        [("A", f'"{scenario}"'), ("B", str(year)), ("D", f"$A{row + 1}")]
                    )
                    total = fin[
                        (fin["scenario"] == scenario)
                        & (fin["year"] == year)
                        & (fin["provider"] == provider.id)
                        & (fin["line"] == "total_simulated")
                    ]
                    value = float((total["baseline_income"] - total["scenario_income"]).sum())
                    ws.write_formula(row, col, f"={ref}-{mine}", f.currency, value)
                row += 1
            row += 1
        ws.write(row, 0, "Commissioner's net position", f.title)
        ws.write(
            row + 1,
            0,
            "Investment in the levers over the reference, spend avoided on activity-priced lines "
            "(after the payment rules); intervals on the 'Net position' sheet.",
            f.muted,
        )
        row = self.summary_net(ws, row + 3)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.set_footer("&L&A&RPage &P of &N")
        ws.freeze_panes(4, 1)

    # ------------------------------------------------------- plan and contract
    def plan_sheets(self) -> None:
        f = self.f
        ws, h = _sheet(
            self.wb,
            f,
            "Plan comparison",
            "The plan's flat-percentage method beside the simulated income at risk, final year",
            [
                "The plan's amount is a share of the contract line; the simulated figure prices "
                "simulated activity. Lines the model does not simulate show 'not simulated'."
            ],
            [40, 30, 22, 16, 16, 14, 14, 16],
        )
        columns = (
            "provider",
            "line",
            "scenario",
            "plan amount",
            "simulated mean",
            "95% low",
            "95% high",
            "simulated from",
        )
        row = h + 1
        for rec in self.t.comparison.itertuples(index=False):
            values = (
                self.names.get(rec.provider, rec.provider),
                self.line_labels.get((rec.provider, rec.line), rec.line),
                f"{rec.scenario} ({rec.financial_year})",
            )
            for col, value in enumerate(values):
                ws.write(row, col, value)
            ws.write_number(row, 3, float(rec.plan_amount), f.currency)
            for col, value in ((4, rec.simulated_mean), (5, rec.ci_low), (6, rec.ci_high)):
                _number(ws, row, col, value, f.currency, missing="not simulated")
            ws.write(row, 7, rec.simulated_from)
            row += 1
        _table(ws, f, h, columns, row - h - 1, "PlanComparison")

        d = self.t.discrepancies
        ws, h = _sheet(
            self.wb,
            f,
            "Plan discrepancies",
            "Where the plan contradicts itself: targets asking for different levels, and published "
            "figures that do not reconcile with the table computed from its inputs",
            [],
            [18, 50, 16, 16, 16, 14, 110],
        )
        discrepancy_columns = (
            "kind",
            "item",
            "first",
            "second",
            "difference",
            "unit",
            "arithmetic",
        )
        row = h + 1
        for rec in d.itertuples(index=False):
            fmt = f.currency if rec.unit == "£" else f.count
            ws.write(row, 0, rec.kind)
            ws.write(row, 1, rec.item)
            for col, value in ((2, rec.first_value), (3, rec.second_value), (4, rec.difference)):
                _number(ws, row, col, value, fmt)
            ws.write(row, 5, rec.unit)
            ws.write(row, 6, rec.arithmetic)
            row += 1
        if d.empty:
            ws.write(row, 0, "none: the targets agree and every published row and total reconciles")
            row += 1
        _table(ws, f, h, discrepancy_columns, row - h - 1, "PlanDiscrepancies")

    def contract_sheet(self) -> None:
        f = self.f
        ws, h = _sheet(
            self.wb,
            f,
            "Contract lines",
            "Providers' contract lines and the plan's method",
            ["Confidence: S stated in the plan, P published national figure, E estimate."],
            [40, 40, 16, 12, 10, 14, 11, 90],
        )
        columns = (
            "provider",
            "line",
            "income (£)",
            "plan method",
            "plan share",
            "simulated from",
            "confidence",
            "source",
        )
        row = h + 1
        for p_index, provider in enumerate(self.inputs.book.provider):
            for l_index, line in enumerate(provider.line):
                note = self.inputs.notes.get(f"providers.provider.{p_index}.line.{l_index}.income")
                ws.write(row, 0, provider.name)
                ws.write(row, 1, line.label)
                ws.write_number(row, 2, line.income, f.currency)
                ws.write(row, 3, line.plan_method)
                _number(ws, row, 4, line.plan_share, f.share, missing="")
                ws.write(row, 5, line.simulated if line.simulated != "none" else "not simulated")
                ws.write(row, 6, note.confidence if note else "")
                ws.write(row, 7, note.source if note else "")
                row += 1
        _table(ws, f, h, columns, row - h - 1, "ContractLines")


def _finite(value: Any) -> float:
    v = float(value) if value is not None else float("nan")
    return v if np.isfinite(v) else 0.0


def _number(ws: Worksheet, row: int, col: int, value: Any, fmt: Any, missing: str = "n/a") -> None:
    """A number, or a word where there is none (never NaN in a cell)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if np.isfinite(v):
        ws.write_number(row, col, v, fmt)
    elif missing:
        ws.write(row, col, missing)


def write_workbook(
    path: Path,
    tables: FinanceTables,
    inputs: FinanceInputs,
    costs: CostInputs | None,
    manifest: Mapping[str, Any],
    pricing_name: str = "default",
) -> None:
    def write(target: Path) -> None:
        wb = xlsxwriter.Workbook(str(target), {"nan_inf_to_errors": False})
        wb.set_properties(
            {
                "title": f"Income at risk: {manifest.get('area_name', '')}",
                "author": "ucsim",
                "comments": "Activity x price x rule; every total is an Excel formula.",
            }
        )
        w = _Writer(wb, tables, inputs, costs, manifest, pricing_name)
        summary = wb.add_worksheet("Summary")
        w.inputs_sheet()
        w.activity_sheet()
        w.lines_sheet()
        w.at_risk_sheet()
        w.decomposition_sheet()
        w.reconciliation_sheet()
        w.investment_sheet()
        w.net_sheet()
        w.summary_sheet(summary)
        w.plan_sheets()
        w.contract_sheet()
        wb.close()

    atomic_write(path, write)
