"""The figures as a picture: requests per month by kind, and the operators
complained about most. PNG or SVG, by the file's extension.

Labels are Latin only: an operator is shown by its unified social credit code
(or, without one, a short id derived from its name), because a Chinese name
would need a CJK font that no machine is guaranteed to have."""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from .report import Query, compute
from .summary import RequestSummary

KINDS = ("COMPLAINT", "REPORT", "CONSULTATION")
FORMATS = {".png": "png", ".svg": "svg"}
TOP = 10


class UnsupportedChart(ValueError):
    pass


def operator_label(uscc: str | None, name: str | None) -> str:
    if uscc:
        return uscc
    return "name#" + hashlib.sha256((name or "").encode("utf-8")).hexdigest()[:8]


def top_operators(summaries: Iterable[RequestSummary], limit: int = TOP) -> list[tuple[str, int]]:
    counts = Counter(operator_label(s.respondent_uscc, s.respondent_name) for s in summaries
                     if s.kind == "COMPLAINT" and (s.respondent_uscc or s.respondent_name))
    # Most complained about first; equal counts in label order, so the chart is reproducible.
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def draw(summaries: list[RequestSummary], query: Query, path: str | Path) -> Path:
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnsupportedChart(f"the chart file must end in .png or .svg, not {path.name!r}")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    chosen = [s for s in summaries if query.admits(s)]
    monthly = compute(chosen, replace(query, by=("month", "kind"))).groups
    months = sorted({g["month"] for g in monthly})
    counts = {(g["month"], g["kind"]): g["requests"] for g in monthly}

    figure = Figure(figsize=(11, 8.5), layout="constrained")
    by_month, by_operator = figure.subplots(2, 1, height_ratios=(3, 2))
    width = 0.8 / len(KINDS)
    for i, kind in enumerate(KINDS):
        positions = [m + (i - 1) * width for m in range(len(months))]
        by_month.bar(positions, [counts.get((month, kind), 0) for month in months], width, label=kind.title())
    by_month.set_xticks(range(len(months)), months, rotation=45 if len(months) > 12 else 0)
    by_month.set_ylabel("requests")
    by_month.set_title("Requests per month (received, China Standard Time) by kind")
    by_month.margins(y=0.15)  # room for the legend above the tallest bar
    by_month.legend(loc="upper left", ncols=len(KINDS))

    top = top_operators(chosen)
    labels = [label for label, _ in reversed(top)]
    by_operator.barh(labels, [count for _, count in reversed(top)], color="tab:red")
    by_operator.set_xlabel("complaints")
    by_operator.set_title(f"Top {len(top)} operators by complaints (unified social credit code)")
    figure.suptitle(_subtitle(query))
    figure.savefig(path, format=fmt)
    return path


def _subtitle(query: Query) -> str:
    parts = [f"from {query.start}" if query.start else "", f"to {query.end}" if query.end else "",
             f"agency {query.agency}" if query.agency else "", f"area {query.area}" if query.area else ""]
    return "tousu statistics " + " ".join(p for p in parts if p)
