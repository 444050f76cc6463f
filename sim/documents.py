"""The report's documents: the HTML report, the Word board paper and the facts they quote.

One place builds the content (:mod:`sim.report`) and hands it to each format's
writer (:func:`sim.report.render_html`, :func:`sim.board_paper.build_docx`), so
the formats never import each other.
"""

from __future__ import annotations

import json
from pathlib import Path

from sim.board_paper import build_docx
from sim.report import build_content, make_figures, render_html
from sim.store import atomic_write, write_text


def write_report(root: Path, formats: tuple[str, ...] = ("html", "docx")) -> list[Path]:
    """Build figures and the requested formats into the results folder; returns the files."""
    content = build_content(root)
    content.figures = make_figures(root, content)
    written = []
    if "html" in formats:
        write_text(root / "report.html", render_html(content))
        written.append(root / "report.html")
    if "docx" in formats:
        document = build_docx(content)
        atomic_write(root / "board_paper.docx", lambda p: document.save(str(p)))
        written.append(root / "board_paper.docx")
    write_text(
        root / "report_facts.json", json.dumps([f.__dict__ for f in content.facts], indent=2)
    )
    return written
