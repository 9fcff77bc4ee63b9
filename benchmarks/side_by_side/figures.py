"""One row of the side-by-side table: a toolkit figure, its reference, and the target."""

import operator
from dataclasses import dataclass

COMPARISONS = {">=": operator.ge, "<=": operator.le}


@dataclass
class Figure:
    """A figure measured in this run against what a user would pick instead.

    Args:
        section: "quality", "cost", "inference" or "scaling".
        name: what is compared, e.g. "patients: ROC AUC, 5-fold CV".
        toolkit: the toolkit's figure, formatted for the table.
        reference: the reference's figure, formatted, with its name.
        value: the compared number: a difference (`kind="diff"`) or a ratio
            (`kind="ratio"`); None when it could not be measured.
        kind: "diff" (printed as +0.0123), "ratio" (printed as 1.05x) or
            "error" (an absolute error, printed as 3.2e-08).
        target: `(">=" or "<=", bound)` that `value` must meet, or None for
            a figure shown for information.
        note: a short remark printed under the table (e.g. why a value is missing).
    """

    section: str
    name: str
    toolkit: str
    reference: str
    value: float | None
    kind: str = "ratio"
    target: tuple[str, float] | None = None
    note: str = ""

    @property
    def passed(self):
        """True or False when there is a target, None for an informational figure."""
        if self.target is None:
            return None
        if self.value is None:
            return False
        comparison, bound = self.target
        return bool(COMPARISONS[comparison](self.value, bound))

    @property
    def value_text(self):
        if self.value is None:
            return "n/a"
        return {"diff": f"{self.value:+.4f}", "error": f"{self.value:.1e}"}.get(
            self.kind, f"{self.value:.2f}x"
        )

    @property
    def target_text(self):
        if self.target is None:
            return "-"
        comparison, bound = self.target
        text = {"diff": f"{bound:+.2f}", "error": f"{bound:.0e}"}.get(self.kind, f"{bound:g}x")
        return f"{comparison} {text}"

    @property
    def verdict_text(self):
        return {True: "yes", False: "NO", None: "info"}[self.passed]

    def as_dict(self):
        """The figure as plain JSON types."""
        return {
            "section": self.section,
            "name": self.name,
            "toolkit": self.toolkit,
            "reference": self.reference,
            "value": self.value,
            "kind": self.kind,
            "target": None if self.target is None else list(self.target),
            "passed": self.passed,
            "note": self.note,
        }


def format_table(figures):
    """The combined table: one line per figure, columns sized to their contents.

    Args:
        figures: list of `Figure`.

    Returns:
        The table as one string (no trailing newline).
    """
    header = ("section", "figure", "toolkit", "reference", "ratio/diff", "target", "met?")
    rows = [
        (f.section, f.name, f.toolkit, f.reference, f.value_text, f.target_text, f.verdict_text)
        for f in figures
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    numeric = {4}  # Right-aligned columns.

    def line(cells):
        return "  ".join(
            str(cell).rjust(width) if i in numeric else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "-" * len(line(header))
    lines = [line(header), rule, *(line(row) for row in rows)]
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines)


def missed(figures):
    """The figures whose target was missed."""
    return [f for f in figures if f.passed is False]
