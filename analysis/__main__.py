"""Command line: ``python -m analysis export priorities|progress|stop-search ...`` writes the dashboard's tables.

``--out FILE.csv`` writes the CSV (header first) and ``FILE.csv-metadata.json`` beside it,
the same pair the page's downloads give; ``--format geojson`` writes one GeoJSON file with
the metadata inside. ``export progress --summary SUMMARY.csv`` also writes the summary by
group (and its metadata); its ``--from/--to`` choose the latest crime window,
``--trust-baseline/--trust-latest`` override the survey years aligned with the windows and
``--design-effect`` widens every trust interval. Bad input (an unknown crime type, a month outside the data, an
unknown measure) prints one line saying what is wrong and what is allowed, and exits with
status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis.export import FORMATS, priorities_files, progress_files, write_files
from analysis.priorities import METHODS, FlagSettings, priority_table
from analysis.progress import ProgressSettings, plan_progress
from analysis.query import CrimeQuery
from analysis.registry import MEASURES, measure
from analysis.stop_search import ETHNICITIES, MIN_SEARCHES, StopSearchQuery, measure_areas
from analysis.stop_search_data import LEVELS as STOP_SEARCH_LEVELS
from analysis.stop_search_data import default_period, load_stop_search
from analysis.stop_search_export import stop_search_files
from analysis.tables import LEVELS, SOURCES, AnalysisTables, load_tables
from core.errors import CrimeTrustError
from data_sources.settings import get_settings
from data_sources.store import CURRENT, DataHandle, open_data, open_snapshot, open_store

DEFAULT_PROGRESS = ProgressSettings()


def _filters(p: argparse.ArgumentParser) -> None:
    """The crime filters and the flag rule, shared by every table."""
    p.add_argument("--level", choices=LEVELS, required=True)
    p.add_argument("--source", choices=SOURCES, default="mps_ward")
    p.add_argument("--crime-type", action="append", default=[], metavar="TYPE",
                   help="crime type (repeatable); default all published types")
    p.add_argument("--crime-group", action="append", default=[], metavar="GROUP",
                   help="Met offence group (repeatable, mps_ward)")
    p.add_argument("--measure", default="rate", help=f"one of {', '.join(MEASURES)}")
    p.add_argument("--smoothed", action="store_true", help="Empirical Bayes ward rates as the value")
    p.add_argument("--trust-measure", default="trust_mps")
    p.add_argument("--method", default="percentile", help=f"one of {', '.join(METHODS)}")
    p.add_argument("--crime-pct", type=float, default=2 / 3)
    p.add_argument("--trust-pct", type=float, default=1 / 3)
    p.add_argument("--n-per-quarter", type=float, default=100.0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--format", choices=FORMATS, default="csv")
    p.add_argument("--store", type=Path, help="a store or snapshot folder; default the built store, else the snapshot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write an analysis table to a file")
    what = export.add_subparsers(dest="table", required=True)
    p = what.add_parser("priorities", help="the high-crime, low-trust priority table")
    _filters(p)
    p.add_argument("--from", dest="start", metavar="YYYY-MM")
    p.add_argument("--to", dest="end", metavar="YYYY-MM")
    p.add_argument("--trust-period", metavar="YYYY-MM-DD", help="end of the survey's rolling year; default latest")
    g = what.add_parser("progress", help="plan progress: the areas flagged at launch against the rest")
    _filters(g)
    g.add_argument("--baseline-from", default=DEFAULT_PROGRESS.baseline_start, metavar="YYYY-MM",
                   help=f"first month of the baseline (default {DEFAULT_PROGRESS.baseline_start})")
    g.add_argument("--baseline-to", default=DEFAULT_PROGRESS.baseline_end, metavar="YYYY-MM",
                   help=f"last month of the baseline (default {DEFAULT_PROGRESS.baseline_end})")
    g.add_argument("--from", dest="start", metavar="YYYY-MM",
                   help="first month of the latest window (default: as long as the baseline, ending at --to)")
    g.add_argument("--to", dest="end", metavar="YYYY-MM", help="last month of the latest window (default the newest "
                                                                  "month held)")
    g.add_argument("--trust-baseline", metavar="YYYY-MM-DD",
                   help="end of the baseline survey year (default: the year overlapping the baseline most)")
    g.add_argument("--trust-latest", metavar="YYYY-MM-DD",
                   help="end of the latest survey year (default: the year overlapping the latest window most)")
    g.add_argument("--design-effect", type=float, default=DEFAULT_PROGRESS.design_effect, metavar="D",
                   help="survey design effect: trust intervals use interviews ÷ D (default 1; MOPAC publishes none)")
    g.add_argument("--summary", type=Path, help="also write the summary by group to this CSV")
    s = what.add_parser("stop-search", help="stop and search per ward or borough (and London), with ratios")
    s.add_argument("--level", choices=STOP_SEARCH_LEVELS, required=True)
    s.add_argument("--from", dest="start", metavar="YYYY-MM", help="first month (default: the page's default)")
    s.add_argument("--to", dest="end", metavar="YYYY-MM", help="last month (default: the page's default)")
    s.add_argument("--ethnicity", choices=ETHNICITIES, default="officer")
    s.add_argument("--include-gaps", action="store_true", help="count coverage-gap months too (still named)")
    s.add_argument("--min-searches", type=int, default=MIN_SEARCHES,
                   help=f"mark ratios resting on fewer searches (default {MIN_SEARCHES})")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--store", type=Path, help="a store or snapshot folder; default the built store, else the snapshot")
    return parser


def _open(folder: Path | None) -> DataHandle:
    if folder is None:
        return open_data(get_settings())[0]
    if (folder / CURRENT).is_file():
        return open_store(folder)
    return open_snapshot(folder)


def _query(args: argparse.Namespace) -> CrimeQuery:
    """The crime filters; for ``progress`` ``--from/--to`` name the latest window, not the query's period."""
    period = args.table == "priorities"
    return CrimeQuery(source=args.source, level=args.level, crime_types=tuple(args.crime_type),
                      crime_groups=tuple(args.crime_group), start=args.start if period else None,
                      end=args.end if period else None, measure=args.measure, smoothed=args.smoothed)


def _flags(args: argparse.Namespace) -> FlagSettings:
    return FlagSettings(method=args.method, crime_pct=args.crime_pct, trust_pct=args.trust_pct,
                        trust_measure=args.trust_measure, trust_period=getattr(args, "trust_period", None),
                        n_per_quarter=args.n_per_quarter)


def _stop_search(args: argparse.Namespace, handle: DataHandle) -> tuple[dict[str, bytes], str]:
    tables = load_tables(handle)
    data = load_stop_search(handle)
    if data is None:
        raise CrimeTrustError("this data holds no stop and search tables; rebuild with `python -m data_sources build`")
    start, end = (args.start, args.end) if args.start or args.end else default_period(data)
    q = StopSearchQuery(level=args.level, start=start, end=end, ethnicity=args.ethnicity,
                        include_gaps=args.include_gaps, min_searches=args.min_searches)
    result = measure_areas(tables, data, q)
    gaps = f" (coverage gaps, named in the metadata: {result.period.gap_text})" if result.period.gaps else ""
    return stop_search_files(tables, result, args.out.name), f"{len(result.table)} {args.level} rows{gaps}"


def _export(args: argparse.Namespace, tables: AnalysisTables) -> tuple[dict[str, bytes], str]:
    """The files to write and one line saying what they hold."""
    if args.table == "priorities":
        result = priority_table(tables, _query(args), _flags(args))
        flagged = int(result.table["flagged"].sum())
        return (priorities_files(tables, result, args.format, args.out.name),
                f"{len(result.table)} rows ({flagged} flagged)")
    settings = ProgressSettings(args.baseline_from, args.baseline_to, args.start, args.end, args.trust_baseline,
                                args.trust_latest, args.design_effect)
    progress = plan_progress(tables, _query(args), _flags(args), settings)
    if args.summary is not None and args.summary.parent.resolve() != args.out.parent.resolve():
        raise CrimeTrustError(f"--summary {args.summary} must be in the same folder as --out {args.out}")
    files = progress_files(tables, progress, args.format, args.out.name, args.summary.name if args.summary else None)
    cohort = int((progress.areas["group"] == "cohort").sum())
    return files, f"{len(progress.areas)} rows ({cohort} in the launch cohort)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.table == "stop-search":
            files, what = _stop_search(args, _open(args.store))
        else:
            measure(args.measure)  # an unknown measure is refused before the data is read
            files, what = _export(args, load_tables(_open(args.store)))
        written = write_files(files, args.out.parent)
    except CrimeTrustError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {what} to {args.out}")
    for extra in written[1:]:
        print(f"and {extra.name} beside it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
