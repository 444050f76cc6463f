"""board_paper.docx: the report as a Word document a board paper can paste from (python-docx)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from sim.charts import FIGURE_TEXT
from sim.report import ReportContent

NHS_BLUE = "005EB8"


def _shade(cell: Any, hex_colour: str) -> None:
    properties = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), hex_colour)
    properties.append(shading)


def _money_cell(cell: Sequence[str]) -> str:
    mean, interval = cell
    return f"{mean}\n({interval})" if interval else mean


def _table(
    document: Any,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[int] = (),
    widths_cm: Sequence[float] | None = None,
    rag_columns: Sequence[int] = (),
    font_size: float = 8.5,
) -> Any:
    """An NHS-blue-headed table; ``numeric`` columns right-aligned, widths fixed in cm;
    a ``rag_columns`` cell starting "green:", "amber:" or "red:" is coloured."""
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.autofit = widths_cm is None
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold, run.font.size = True, Pt(font_size)
        run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
        _shade(cell, NHS_BLUE)
    for values in rows:
        cells = table.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, values, strict=True)):
            cell.text = ""
            run = cell.paragraphs[0].add_run(str(text))
            run.font.size = Pt(font_size)
            if i in rag_columns:
                colour = {"green": "007F3B", "amber": "FFB81C", "red": "DA291C"}.get(
                    str(text).split(":")[0]
                )
                if colour:
                    _shade(cell, colour)
                    run.bold = True
                    run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
            if i in numeric:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for index, row in enumerate(table.rows):  # header repeats on each page; rows never split
        properties = row._tr.get_or_add_trPr()
        if index == 0:
            properties.append(OxmlElement("w:tblHeader"))
        properties.append(OxmlElement("w:cantSplit"))
    if widths_cm is not None:  # Word reads cell widths, LibreOffice the grid: set both
        for column, width in zip(table.columns, widths_cm, strict=True):
            column.width = Cm(width)
        for row in table.rows:
            for cell, width in zip(row.cells, widths_cm, strict=True):
                cell.width = Cm(width)
    return table


@dataclass
class Paper:
    """The document with numbered table and figure captions and a source line under each."""

    document: Any
    source: str
    tables: int = 0
    figures: int = 0

    def table(
        self,
        caption: str,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        numeric: Sequence[int] = (),
        widths_cm: Sequence[float] | None = None,
        rag_columns: Sequence[int] = (),
        font_size: float = 8.5,
    ) -> Any:
        self.tables += 1
        title = self.document.add_paragraph(f"Table {self.tables}: {caption}", style="Caption")
        title.paragraph_format.keep_with_next = True
        table = _table(self.document, header, rows, numeric, widths_cm, rag_columns, font_size)
        self._source()
        return table

    def figure(self, path: Any, name: str) -> None:
        caption, alt = FIGURE_TEXT[name]
        self.figures += 1
        self.document.add_picture(str(path), width=Cm(16.5))
        self.document.paragraphs[-1].paragraph_format.keep_with_next = True
        properties = self.document.inline_shapes[-1]._inline.docPr
        properties.set("descr", alt)
        properties.set("title", caption)
        title = self.document.add_paragraph(f"Figure {self.figures}: {caption}", style="Caption")
        title.paragraph_format.keep_with_next = True
        self._source()

    def _source(self) -> None:
        line = self.document.add_paragraph(f"Source: {self.source}")
        line.runs[0].font.size = Pt(7.5)
        line.runs[0].font.italic = True


TARGET_HEADER = [
    "Target",
    "Scenario",
    "Year",
    "Target value",
    "Simulated (95% interval)",
    "p_met",
    "Status",
]


def _target_cell(t: dict[str, Any]) -> str:
    return "\n".join([t["target"], *([t["baseline"]] if t["baseline"] else []), *t["notes"]])


def _compact_gap(c: ReportContent) -> list[list[str]]:
    """One row per target-year, one cell per scenario: "status: share delivered"."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for g in c.gap:
        key = (g["target"], g["year"])
        row = rows.setdefault(key, {"required": g["required"]})
        row[g["scenario"]] = f"{g['status']}: {g['share']}" if g["share"] else g["status"]
    return [
        [target, year, row["required"], *(row.get(s, "") for s in c.scenarios)]
        for (target, year), row in rows.items()
    ]


def _lead(document: Any, text: str) -> Any:
    """A paragraph that introduces what follows: kept on the same page as it."""
    paragraph = document.add_paragraph(text)
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def _properties(document: Any, c: ReportContent) -> None:
    """Title, author and creation time a document manager shows (not python-docx's own)."""
    properties = document.core_properties
    properties.title = c.title
    properties.author = properties.last_modified_by = "ucsim"
    properties.subject = f"Urgent care scenarios, {c.area}"
    properties.comments = f"ucsim {c.tool_version}; {c.run_id}"
    properties.keywords = "urgent care; simulation; board paper"
    if c.created:
        created = dt.datetime.fromisoformat(c.created)
        properties.created = properties.modified = created
    properties.revision = 1


def _field(paragraph: Any, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that the reader's software fills in."""
    run = paragraph.add_run()
    begin, text, end = (
        OxmlElement("w:fldChar"),
        OxmlElement("w:instrText"),
        OxmlElement("w:fldChar"),
    )
    begin.set(qn("w:fldCharType"), "begin")
    text.set(qn("xml:space"), "preserve")
    text.text = instruction
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, text, end):
        run._r.append(element)


def _header_and_footer(section: Any, c: ReportContent) -> None:
    header = section.header.paragraphs[0]
    header.text = c.title
    header.runs[0].font.size = Pt(8)
    footer = section.footer.paragraphs[0]
    footer.text = f"{c.run_id} · ucsim {c.tool_version} · page "
    _field(footer, "PAGE")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES")
    for run in footer.runs:
        run.font.size = Pt(7.5)


def build_docx(c: ReportContent) -> Any:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    style = document.styles["Normal"]
    style.font.name, style.font.size = "Arial", Pt(10)
    _properties(document, c)
    _header_and_footer(section, c)
    paper = Paper(document, f"ucsim {c.tool_version}, {c.run_id}")
    document.add_heading(c.title, level=0)
    note = document.add_paragraph(c.run_id)
    note.runs[0].font.size = Pt(8.5)

    document.add_heading("1. Executive summary", level=1)
    for point in c.summary_points:
        bullet = document.add_paragraph(point, style="List Bullet")
        bullet.paragraph_format.space_after = Pt(1)
        for run in bullet.runs:
            run.font.size = Pt(8.5)
    if c.gap:
        compact = _compact_gap(c)
        paper.table(
            f"Each target against {c.reference}: share of the required change delivered, "
            f"{c.final_year} or the target's last year in the run (detail in Table 2)",
            ["Target", "Year", f"Required vs {c.reference}", *c.scenarios],
            compact,
            numeric=(2,),
            widths_cm=(8.0, 1.4, 2.2, *[5.4 / max(len(c.scenarios), 1)] * len(c.scenarios)),
            rag_columns=tuple(range(3, 3 + len(c.scenarios))),
            font_size=7.5,
        )
    document.add_page_break()  # the summary stands on its own page; the detail follows
    if c.gap:
        document.add_paragraph(
            f"The gap to each target, {c.final_year} or the target's last year in the run: the "
            f"change each target requires against {c.reference}, the change the scenario "
            "delivers (paired 95% interval) and the share of the requirement delivered."
        )
        paper.table(
            f"The gap to each target against {c.reference}, {c.final_year} or the target's "
            "last year in the run",
            [
                "Target",
                "Year",
                "Scenario",
                f"Required vs {c.reference}",
                "Delivered (95% interval)",
                "Delivered ÷ required",
                "Status",
            ],
            [
                [
                    g["target"],
                    g["year"],
                    g["scenario"],
                    g["required"],
                    g["delivered"],
                    g["share"],
                    g["status"],
                ]
                for g in c.gap
            ],
            numeric=(3, 4, 5),
            widths_cm=(4.6, 1.5, 1.8, 2.4, 3.4, 1.6, 1.9),
            rag_columns=(6,),
        )

    document.add_heading("2. Targets (red / amber / green)", level=1)
    document.add_paragraph(
        "Each target is scored on its own indicator. p_met is the share of replications "
        "meeting the target. Green: p_met >= 0.8; amber: 0.5 to 0.8; red: below 0.5. "
        "'Baseline mismatch': the model's value for the indicator in the target's stated "
        "baseline year is more than 10% from the stated value, so a level target is not "
        f"coloured. 'Met without the plan': {c.reference} meets it too. Rates per 100,000 are "
        "crude rates on the registered list; the published indicators are age/sex "
        f"standardised. Baselines before {c.first_year} are the model's {c.first_year} value "
        "back-cast at its own growth."
    )
    table = paper.table(
        "Targets scored on their own indicators (red, amber, green)",
        TARGET_HEADER,
        [
            [
                _target_cell(t) if t["span"] else "",
                t["scenario"],
                t["year"],
                t["target_value"],
                t["simulated"],
                t["p_met"],
                t["status"],
            ]
            for t in c.targets
        ],
        numeric=(3, 4, 5),
        widths_cm=(5.0, 1.8, 1.6, 1.5, 3.3, 1.2, 2.3),
        rag_columns=(6,),
    )
    start = 1
    for t in c.targets:  # one merged target cell per group of scenario-year rows
        if t["span"] > 1:
            table.cell(start, 0).merge(table.cell(start + t["span"] - 1, 0))
        start += t["span"]
    if c.not_modelled:
        _lead(
            document,
            "Targets the plan states that the model cannot evaluate (listed, never dropped):",
        )
        paper.table(
            "Targets the plan states that the model cannot evaluate",
            ["Target", "Year(s)", "Why not modelled"],
            [[t["target"], t["years"], t["reason"]] for t in c.not_modelled],
            widths_cm=(6.5, 2.0, 8.5),
        )
    if c.contradictions:
        _lead(
            document,
            f"Where the plan's targets contradict each other (each level resolved against "
            f"{c.reference} in this run; both targets are scored above, neither is chosen):",
        )
        paper.table(
            "Where the plan's targets contradict each other",
            ["Contradiction", "Arithmetic"],
            [[f"{d['item']} ({d['source']})", d["arithmetic"]] for d in c.contradictions],
            widths_cm=(5.5, 11.5),
        )

    document.add_heading("3. Activity", level=1)
    if "activity" in c.figures:
        paper.figure(c.figures["activity"], "activity")

    document.add_heading(f"4. Difference from {c.reference} in {c.final_year}", level=1)
    if not c.scenarios:
        document.add_paragraph(_only_one(c))
    else:
        paper.table(
            f"Difference from {c.reference}, {c.final_year} (paired and unpaired 95% intervals)",
            ["Scenario", "Metric", "Difference", "Paired 95% interval", "Unpaired 95% interval"],
            [
                [d["scenario"], d["metric"], d["difference"], d["paired"], d["unpaired"]]
                for d in c.differences
            ],
            numeric=(2, 3, 4),
        )
        _lead(
            document,
            f"Each lever's contribution, {c.final_year}: the scenario minus the same scenario with "
            "one lever off, paired by replication; 'interactions' is what the levers do together "
            "beyond the sum of their parts.",
        )
        if c.contributions:
            if "contributions" in c.figures:
                paper.figure(c.figures["contributions"], "contributions")
            paper.table(
                f"Each lever's contribution, {c.final_year}",
                [
                    "Scenario",
                    "Lever",
                    "Emergency admissions",
                    "A&E, all types",
                    "A&E, type 1",
                    "Provider income at risk",
                ],
                [
                    [r["scenario"], r["lever"], *(f"{m} ({i})" if m else "" for m, i in r["cells"])]
                    for r in c.contributions
                ],
                numeric=(2, 3, 4, 5),
            )
        else:
            document.add_paragraph(
                "Not computed for this run: 'ucsim decompose RESULTS_DIR' re-runs each scenario "
                "with one lever off at a time and adds this table."
            )

    if c.regression:
        first = c.regression[0]
        _lead(
            document,
            f"Regression to the mean: the 2% of the long-term-conditions cohort with the most "
            f"urgent episodes in {first['from_year']}, under {c.reference} and, paired on the "
            f"same people, each scenario's effect in {first['to_year']}. The fall under "
            f"{c.reference} happens with no intervention: a before/after evaluation would "
            "wrongly credit it.",
        )
        paper.table(
            "Regression to the mean in the high-risk cohort",
            [
                "Measure",
                first["from_year"],
                f"{first['to_year']} ({c.reference})",
                "Change with no intervention",
                *(f"{scenario}: effect" for scenario, _ in first["effects"]),
            ],
            [
                [r["measure"], r["before"], r["after"], r["reference_change"]]
                + [effect for _, effect in r["effects"]]
                for r in c.regression
            ],
            numeric=tuple(range(1, 4 + len(first["effects"]))),
        )

    _places(paper, c)

    document.add_heading(f"5. Income at risk, {c.final_year}", level=1)
    if not c.finance_configured:
        document.add_paragraph(
            "Finance is not configured for this area: there is no providers.toml and "
            "tariffs.toml in its calibration folder, so income at risk is not computed."
        )
    elif not c.scenarios:
        document.add_paragraph(_only_one(c))
    else:
        if "income" in c.figures:
            paper.figure(c.figures["income"], "income")
        document.add_paragraph(
            f"Simulated income at risk against {c.reference} (95% interval); lines no "
            "scenario changes are omitted (every line is in finance.csv and "
            "income_at_risk.xlsx). A negative figure is income the provider gains against "
            f"{c.reference} (for example urgent care centre attendances streamed from A&E)."
        )
        scenario_width = 10.0 / max(len(c.scenarios), 1)
        paper.table(
            f"Simulated income at risk against {c.reference} by provider and line, {c.final_year}",
            ["Provider", "Line", *c.scenarios],
            [
                [f["provider"], f["line"], *[_money_cell(cell) for cell in f["cells"]]]
                for f in c.finance
            ],
            numeric=tuple(range(2, 2 + len(c.scenarios))),
            widths_cm=(4.0, 3.0, *[scenario_width] * len(c.scenarios)),
        )
        document.add_paragraph("The plan's flat-percentage method beside the simulation")
        scenario_width = 8.0 / max(len(c.scenarios), 1)
        paper.table(
            "The plan's flat-percentage method beside the simulated income at risk",
            ["Provider", "Line", "Plan amount", *[f"{s} (simulated)" for s in c.scenarios]],
            [
                [p["provider"], p["line"], p["plan"], *[_money_cell(cell) for cell in p["cells"]]]
                for p in c.plan_comparison
            ],
            numeric=tuple(range(2, 3 + len(c.scenarios))),
            widths_cm=(3.8, 2.8, 2.4, *[scenario_width] * len(c.scenarios)),
        )
    _finance_section(paper, c)
    if c.discrepancies:
        document.add_paragraph(
            "Where the plan's published table does not reconcile with its own inputs"
        )
        paper.table(
            "Where the plan's value-at-risk table does not reconcile with its own inputs",
            ["Item", "Published", "Computed", "Difference"],
            [
                [f"{d['item']}: {d['arithmetic']}", d["published"], d["computed"], d["difference"]]
                for d in c.discrepancies
            ],
            numeric=(1, 2, 3),
        )

    document.add_heading(f"6. Capacity and performance, {c.final_year}", level=1)
    if "capacity" in c.figures:
        paper.figure(c.figures["capacity"], "capacity")
    paper.table(
        f"Capacity and performance, {c.final_year}",
        ["Scenario", "Measure", "Mean", "95% interval"],
        [
            [
                r["scenario"],
                r["metric"] + (f" ({r['flag']})" if r["flag"] else ""),
                r["mean"],
                r["interval"],
            ]
            for r in c.capacity
        ],
        numeric=(2, 3),
    )

    document.add_heading("7. Assumptions beside the published evidence", level=1)
    if c.assumptions:
        scenarios = list(c.assumptions[0]["values"])
        paper.table(
            "Scenario assumptions beside the published evidence",
            ["Lever", *scenarios, "Published evidence"],
            [
                [
                    a["lever"],
                    *[str(a["values"][s]) for s in scenarios],
                    a["evidence"] + (f" BEYOND THE EVIDENCE: {a['flag']}" if a["flag"] else ""),
                ]
                for a in c.assumptions
            ],
            numeric=tuple(range(1, 1 + len(scenarios))),
            widths_cm=(3.0, *[1.6] * len(scenarios), 17.0 - 3.0 - 1.6 * len(scenarios)),
        )

    document.add_heading("8. Calibration", level=1)
    document.add_paragraph(c.calibration_note)
    if c.calibration:
        paper.table(
            "Calibration: baseline activity fitted and held out",
            ["Measure", "Role", "Target", "Simulated", "95% CI", "Error", "Source"],
            [
                [
                    r["measure"],
                    r["role"],
                    r["target"],
                    r["simulated"],
                    r["interval"],
                    r["error"],
                    r["source"],
                ]
                for r in c.calibration
            ],
            numeric=(2, 3, 4, 5),
            widths_cm=(3.4, 1.4, 1.8, 1.8, 2.8, 1.4, 4.4),
        )
        document.add_paragraph(
            "Sources of the targets: baseline.toml in the area's calibration folder and "
            "fit_report.csv in the results folder."
        )

    document.add_heading("9. Methods (STRESS-DES summary)", level=1)
    paper.table(
        "Methods (STRESS-DES summary)",
        ["Item", "Detail"],
        [[k, v] for k, v in c.methods],
        widths_cm=(3.0, 14.0),
    )
    return document


def _places(paper: Paper, c: ReportContent) -> None:
    """Results by locality and, for a demonstrator, whether its evaluation could see it."""
    document, pl = paper.document, c.places
    if pl.localities:
        _lead(
            document,
            f"Results by locality, {c.final_year}: each locality's registered patients, from "
            f"the same run (the localities add up to the area). Differences are paired against "
            f"{c.reference}; a lever aimed at one place changes others only through the "
            "capacity they share.",
        )
        if "places" in c.figures:
            paper.figure(c.figures["places"], "places")
        paper.table(
            f"Results by locality, {c.final_year}",
            ["Locality", "Measure", c.reference, *(f"{s}: difference" for s in c.scenarios)],
            [
                [r["locality"], r["metric"], r["reference"]]
                + [f"{m}\n({i})" if i else m for m, i in r["cells"]]
                for r in pl.rows
            ],
            numeric=tuple(range(2, 3 + len(c.scenarios))),
        )
    if pl.demonstrator:
        _lead(
            document,
            "Could the demonstrator show an effect? Its evaluation compares its localities "
            "with the rest of the area, before and during the demonstrator (a difference in "
            f"differences per 100,000 registered). The spread of that figure under "
            f"{c.reference} is the noise one real evaluation faces.",
        )
        for line in pl.demonstrator_statements:
            document.add_paragraph(line, style="List Bullet")
        paper.table(
            "The demonstrator's evaluation: what it could see, and what it could detect",
            [
                "Scenario",
                "Measure (per 100,000)",
                "One evaluation could see (95%)",
                "Modelled effect",
                "Smallest detectable (80% power)",
                "Chance it shows",
            ],
            [
                [r["scenario"], r["metric"], r["single"], r["effect"], r["mde"], r["power"]]
                for r in pl.demonstrator
            ],
            numeric=(2, 3, 4, 5),
        )


def _only_one(c: ReportContent) -> str:
    return (
        f"Only one scenario ran ({c.reference}): there is nothing to compare it with. Run two "
        "or more scenarios (for example the three shipped ones: 'ucsim run') for differences, "
        "lever contributions and income at risk."
    )


def _finance_section(paper: Paper, c: ReportContent) -> None:
    """Basis, decomposition, net position, reconciliation, sensitivity and pricings."""
    document = paper.document
    fs = c.finance_section
    for line in fs.basis:
        document.add_paragraph(line, style="List Bullet")
    columns = [s for s in c.scenarios]
    width = 9.0 / max(len(columns), 1)
    if fs.decomposition and c.scenarios:
        document.add_paragraph(
            f"What moves income at risk, {c.final_year}: fewer admissions, shorter stays "
            "(bed days beyond the trim points), the marginal-rate and readmission rules; "
            "the rows add up to each provider's total."
        )
        paper.table(
            f"What moves income at risk, {c.final_year}",
            ["Provider", "Effect", *columns],
            [
                [d["provider"], d["effect"], *(_money_cell(x) for x in d["cells"])]
                for d in fs.decomposition
            ],
            numeric=tuple(range(2, 2 + len(columns))),
            widths_cm=(4.0, 3.5, *[width] * len(columns)),
        )
    if fs.net and c.scenarios:
        document.add_paragraph(
            f"The commissioner's net position, {c.final_year}: investment in the levers over "
            f"{c.reference} (intervention_costs.toml, mostly estimates) against spend avoided on "
            "activity-priced lines. Positive net = the scenario saves money."
        )
        paper.table(
            f"The commissioner's net position, {c.final_year}",
            ["Measure", *columns],
            [[n["measure"], *(_money_cell(x) for x in n["cells"])] for n in fs.net],
            numeric=tuple(range(1, 1 + len(columns))),
            widths_cm=(6.0, *[10.5 / max(len(columns), 1)] * len(columns)),
        )
    if fs.reconciliation:
        document.add_paragraph(
            f"Reconciliation with the contract lines, {c.first_year} (simulated income under "
            f"{c.reference} in the baseline year)."
        )
        paper.table(
            f"Reconciliation with the contract lines, {c.first_year}",
            ["Provider", "Line", "Contract", "Simulated", "Difference", "Treatment"],
            [
                [
                    r["provider"],
                    r["line"],
                    r["contract"],
                    r["simulated"],
                    r["difference"],
                    r["note"],
                ]
                for r in fs.reconciliation
            ],
            numeric=(2, 3, 4),
            widths_cm=(3.2, 3.2, 2.0, 2.0, 2.6, 3.5),
        )
    if fs.sensitivity and c.scenarios:
        document.add_paragraph(
            f"Pricing sensitivity, {c.final_year}: income at risk of all simulated lines when one "
            "pricing assumption changes (change in brackets). The length-of-stay lever is a "
            "scenario assumption: 'ucsim decompose' re-runs each scenario without it and adds "
            "its row."
        )
        if "finance_sensitivity" in c.figures:
            paper.figure(c.figures["finance_sensitivity"], "finance_sensitivity")
        paper.table(
            f"Pricing sensitivity, {c.final_year}",
            ["Assumption", "Setting", *columns],
            [
                [r["parameter"], r["setting"], *(f"{v} ({d})" for v, d in r["cells"])]
                for r in fs.sensitivity
            ],
            numeric=tuple(range(2, 2 + len(columns))),
            widths_cm=(3.5, 4.5, *[8.5 / max(len(columns), 1)] * len(columns)),
        )
    if fs.pricings and c.scenarios:
        document.add_paragraph(
            "Pricings in this results folder (income at risk of simulated lines; net position)."
        )
        paper.table(
            "Pricings in this results folder",
            ["Pricing", "Inputs", *columns],
            [
                [p["name"], p["description"], *(f"{a}; net {n}" for a, n in p["cells"])]
                for p in fs.pricings
            ],
            numeric=tuple(range(2, 2 + len(columns))),
            widths_cm=(2.5, 5.5, *[8.5 / max(len(columns), 1)] * len(columns)),
        )
