"""board_paper.docx: the report as a Word document a board paper can paste from (python-docx)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

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
    rag_column: int | None = None,
) -> Any:
    """An NHS-blue-headed table; ``numeric`` columns right-aligned, widths fixed in cm."""
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.autofit = widths_cm is None
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold, run.font.size = True, Pt(8.5)
        run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
        _shade(cell, NHS_BLUE)
    for values in rows:
        cells = table.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, values, strict=True)):
            cell.text = ""
            run = cell.paragraphs[0].add_run(str(text))
            run.font.size = Pt(8.5)
            if rag_column is not None and i == rag_column:
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
    document.add_paragraph()
    return table


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


def _lead(document: Any, text: str) -> Any:
    """A paragraph that introduces what follows: kept on the same page as it."""
    paragraph = document.add_paragraph(text)
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def build_docx(c: ReportContent) -> Any:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    style = document.styles["Normal"]
    style.font.name, style.font.size = "Arial", Pt(10)
    document.add_heading(c.title, level=0)
    note = document.add_paragraph(c.run_id)
    note.runs[0].font.size = Pt(8.5)

    document.add_heading("1. Executive summary", level=1)
    if c.gap:
        document.add_paragraph(
            f"The gap to each target, {c.final_year} or the target's last year in the run: the "
            f"change each target requires against {c.reference}, the change the scenario "
            "delivers (paired 95% interval) and the share of the requirement delivered."
        )
        _table(
            document,
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
            rag_column=6,
        )
    for point in c.summary_points:
        document.add_paragraph(point, style="List Bullet")

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
    table = _table(
        document,
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
        rag_column=6,
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
        _table(
            document,
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
        _table(
            document,
            ["Contradiction", "Arithmetic"],
            [[f"{d['item']} ({d['source']})", d["arithmetic"]] for d in c.contradictions],
            widths_cm=(5.5, 11.5),
        )

    document.add_heading("3. Activity", level=1)
    if "activity" in c.figures:
        document.add_picture(str(c.figures["activity"]), width=Cm(16.5))

    document.add_heading(f"4. Difference from {c.reference} in {c.final_year}", level=1)
    if not c.scenarios:
        document.add_paragraph(_only_one(c))
    else:
        _table(
            document,
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
                document.add_picture(str(c.figures["contributions"]), width=Cm(16.5))
            _table(
                document,
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
        _table(
            document,
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
            document.add_picture(str(c.figures["income"]), width=Cm(16.5))
        document.add_paragraph(
            f"Simulated income at risk against {c.reference} (95% interval); lines no "
            "scenario changes are omitted (every line is in finance.csv and "
            "income_at_risk.xlsx). A negative figure is income the provider gains against "
            f"{c.reference} (for example urgent care centre attendances streamed from A&E)."
        )
        scenario_width = 10.0 / max(len(c.scenarios), 1)
        _table(
            document,
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
        _table(
            document,
            ["Provider", "Line", "Plan amount", *[f"{s} (simulated)" for s in c.scenarios]],
            [
                [p["provider"], p["line"], p["plan"], *[_money_cell(cell) for cell in p["cells"]]]
                for p in c.plan_comparison
            ],
            numeric=tuple(range(2, 3 + len(c.scenarios))),
            widths_cm=(3.8, 2.8, 2.4, *[scenario_width] * len(c.scenarios)),
        )
    _finance_section(document, c)
    if c.discrepancies:
        document.add_paragraph(
            "Where the plan's published table does not reconcile with its own inputs"
        )
        _table(
            document,
            ["Item", "Published", "Computed", "Difference"],
            [
                [f"{d['item']}: {d['arithmetic']}", d["published"], d["computed"], d["difference"]]
                for d in c.discrepancies
            ],
            numeric=(1, 2, 3),
        )

    document.add_heading(f"6. Capacity and performance, {c.final_year}", level=1)
    if "capacity" in c.figures:
        document.add_picture(str(c.figures["capacity"]), width=Cm(16.5))
    _table(
        document,
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
        _table(
            document,
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
        _table(
            document,
            ["Measure", "Role", "Target", "Simulated", "95% CI", "Error"],
            [
                [r["measure"], r["role"], r["target"], r["simulated"], r["interval"], r["error"]]
                for r in c.calibration
            ],
            numeric=(2, 3, 4, 5),
            widths_cm=(4.2, 1.8, 2.4, 2.4, 4.0, 2.2),
        )
        document.add_paragraph(
            "Sources of the targets: baseline.toml in the area's calibration folder and "
            "fit_report.csv in the results folder."
        )

    document.add_heading("9. Methods (STRESS-DES summary)", level=1)
    _table(document, ["Item", "Detail"], [[k, v] for k, v in c.methods], widths_cm=(3.0, 14.0))
    return document


def _only_one(c: ReportContent) -> str:
    return (
        f"Only one scenario ran ({c.reference}): there is nothing to compare it with. Run two "
        "or more scenarios (for example the three shipped ones: 'ucsim run') for differences, "
        "lever contributions and income at risk."
    )


def _finance_section(document: Any, c: ReportContent) -> None:
    """Basis, decomposition, net position, reconciliation, sensitivity and pricings."""
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
        _table(
            document,
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
        _table(
            document,
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
        _table(
            document,
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
            document.add_picture(str(c.figures["finance_sensitivity"]), width=Cm(16.5))
        _table(
            document,
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
        _table(
            document,
            ["Pricing", "Inputs", *columns],
            [
                [p["name"], p["description"], *(f"{a}; net {n}" for a, n in p["cells"])]
                for p in fs.pricings
            ],
            numeric=tuple(range(2, 2 + len(columns))),
            widths_cm=(2.5, 5.5, *[8.5 / max(len(columns), 1)] * len(columns)),
        )
