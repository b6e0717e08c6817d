"""`tousu stats`: the figures from the statistics service's store, as a table,
JSON or CSV, and optionally a chart; `--rebuild` first refills that store from
the topics."""
from __future__ import annotations

import csv
import json
import os
import sys

from services.plaintext import cell, on_terminal

from .chart import FORMATS
from .report import DIMENSIONS, MEASURES, InvalidQuery, Query, Report, compute

HEADINGS = {"decided_late": "late", "mediations": "mediated", "time_limit_exceeded": "time limit",
            "amount_recovered_fen": "recovered (yuan)", "penalty_cases": "to case"}


def add_arguments(parser) -> None:
    parser.add_argument("--from", dest="start", metavar="DATE", help="received on or after DATE (China Standard Time)")
    parser.add_argument("--to", dest="end", metavar="DATE", help="received on or before DATE (China Standard Time)")
    parser.add_argument("--agency", metavar="ID",
                        help="handled by this agency or one below it (AMR-440100: all of Guangzhou)")
    parser.add_argument("--area", metavar="ADCODE", help="handled in this division (440000 province, 440100 city)")
    parser.add_argument("--by", default="kind", metavar="DIMS",
                        help=f"comma-separated, any of: {', '.join(DIMENSIONS)} (default kind; '' for totals only)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON on stdout")
    output.add_argument("--csv", action="store_true", help="CSV on stdout, one row per group")
    parser.add_argument("--chart", metavar="FILE",
                        help="also draw requests per month and the top operators (.png or .svg)")
    parser.add_argument("--rebuild", action="store_true",
                        help="first rebuild the statistics store from every topic (stop the statistics service first)")


def cmd_stats(args) -> int:
    try:
        query = Query.parse(args.start, args.end, args.agency, args.area, args.by)
    except InvalidQuery as exc:
        print(f"tousu stats: --{exc.field}: {exc}", file=sys.stderr)
        return 2
    if args.chart and os.path.splitext(args.chart)[1].lower() not in FORMATS:
        print(f"tousu stats: --chart: the file must end in {' or '.join(FORMATS)}", file=sys.stderr)
        return 2
    if args.chart and (problem := _unwritable(args.chart)):
        print(f"tousu stats: --chart {args.chart}: {problem}", file=sys.stderr)
        return 2
    if args.rebuild:
        from services.commands import refuse_beside_up

        if refused := refuse_beside_up("tousu stats --rebuild"):
            print(refused, file=sys.stderr)
            return 2
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            print("tousu stats --rebuild reads the topics: set KAFKA_BOOTSTRAP_SERVERS", file=sys.stderr)
            return 2
        from .rebuild import rebuild

        count = rebuild(bootstrap, os.environ)
        print(f"statistics rebuilt from {count} messages", file=sys.stderr)
    summaries = _summaries(os.environ)
    if summaries is None:
        print("no statistics stored yet: start the statistics service, or run tousu stats --rebuild",
              file=sys.stderr)
        return 1
    report = compute(summaries, query)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif args.csv:
        write_csv(report, sys.stdout)
    else:
        print(table(report))
    if args.chart:
        from .chart import draw

        print(f"chart written to {draw(summaries, query, args.chart)}", file=sys.stderr)
    return 0


def _unwritable(path: str) -> str | None:
    """Why a chart could not be written to `path`, asked before any work is done."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"the folder {folder} does not exist; create it or choose another path"
    if os.path.isdir(path):
        return "that is a folder; give a file name ending in .png or .svg"
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return "not writable here; choose a path you may write"
    return None


def _summaries(env):
    """Every request's summary from the store the running system uses; None
    when there is no such store at all."""
    from services.bus.settings import store_settings

    from .application import Statistics

    service_env = store_settings(env).for_service("statistics")
    if "SQLITE_DBNAME" in service_env and not os.path.exists(service_env["SQLITE_DBNAME"]):
        return None
    app = Statistics(env=service_env)
    try:
        return app.index.refresh()
    finally:
        app.close()


def write_csv(report: Report, out) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*report.query.by, *MEASURES])
    for group in report.groups:
        writer.writerow([*(cell(group[d]) for d in report.query.by), *(group[m] for m in MEASURES)])


def _cell(name: str, value) -> str:
    if value is None:
        return "-"
    if name == "amount_recovered_fen":
        return f"{value / 100:,.2f}"
    return f"{value:,}" if isinstance(value, int) else on_terminal(str(value))


def table(report: Report) -> str:
    columns = [*report.query.by, *MEASURES]
    rows = [[_cell(c, group[c]) for c in columns] for group in report.groups]
    if not report.query.by and not rows:
        rows.append([_cell(m, report.total[m]) for m in MEASURES])
    elif report.query.by and len(report.groups) != 1:
        rows.append(["total", *([""] * (len(report.query.by) - 1)), *(_cell(m, report.total[m]) for m in MEASURES)])
    headings = [HEADINGS.get(c, c.replace("_", " ")) for c in columns]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headings)]
    keys = len(report.query.by)

    def line(cells):
        return "  ".join(c.ljust(w) if i < keys else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headings), line(["-" * w for w in widths]), *(line(r) for r in rows)])
