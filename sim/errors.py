"""User-input errors: each names the file, the field path, the value and the rule.

The CLI turns these into exit code 2 with no traceback; the library raises
them and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with one input value."""

    file: str
    field: str
    value: object
    rule: str

    def __str__(self) -> str:
        where = self.file or "<command line>"
        field = self.field or "(whole file)"
        return f"{where}: {field} = {self.value!r}: {self.rule}"


class InputError(Exception):
    """Raised for invalid user input (files, options, overrides)."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @classmethod
    def single(cls, file: str, field: str, value: object, rule: str) -> InputError:
        return cls([InputProblem(file, field, value, rule)])
