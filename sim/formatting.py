"""How money reads in the outputs: one format per table column, a short one in prose."""

from __future__ import annotations


def money(value: float) -> str:
    """Prose: £1.54m above a million, £426,659 below."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}£{value / 1e6:,.2f}m" if value >= 1e6 else f"{sign}£{value:,.0f}"


def pounds(value: float) -> str:
    """Table cells: whole pounds, always (a column never mixes £m and £)."""
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.0f}"
