"""Command line: ``python -m analysis export priorities ...`` writes the dashboard's priority table.

``--out FILE.csv`` writes the CSV (header first) and ``FILE.csv-metadata.json`` beside it,
the same pair the page's downloads give; ``--format geojson`` writes one GeoJSON file with
the metadata inside. Bad input (an unknown crime type, a month outside the data, an unknown
measure) prints one line saying what is wrong and what is allowed, and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis.export import FORMATS, priorities_files, write_files
from analysis.priorities import METHODS, FlagSettings, priority_table
from analysis.query import CrimeQuery
from analysis.registry import MEASURES, measure
from analysis.tables import LEVELS, SOURCES, load_tables
from data_sources.errors import CrimeTrustError
from data_sources.settings import get_settings
from data_sources.store import CURRENT, DataHandle, open_data, open_snapshot, open_store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="write an analysis table to a file")
    what = export.add_subparsers(dest="table", required=True)
    p = what.add_parser("priorities", help="the high-crime, low-trust priority table")
    p.add_argument("--level", choices=LEVELS, required=True)
    p.add_argument("--source", choices=SOURCES, default="mps_ward")
    p.add_argument("--crime-type", action="append", default=[], metavar="TYPE",
                   help="crime type (repeatable); default all published types")
    p.add_argument("--crime-group", action="append", default=[], metavar="GROUP",
                   help="Met offence group (repeatable, mps_ward)")
    p.add_argument("--measure", default="rate", help=f"one of {', '.join(MEASURES)}")
    p.add_argument("--smoothed", action="store_true", help="Empirical Bayes ward rates as the value")
    p.add_argument("--from", dest="start", metavar="YYYY-MM")
    p.add_argument("--to", dest="end", metavar="YYYY-MM")
    p.add_argument("--trust-measure", default="trust_mps")
    p.add_argument("--trust-period", metavar="YYYY-MM-DD", help="end of the survey's rolling year; default latest")
    p.add_argument("--method", default="percentile", help=f"one of {', '.join(METHODS)}")
    p.add_argument("--crime-pct", type=float, default=2 / 3)
    p.add_argument("--trust-pct", type=float, default=1 / 3)
    p.add_argument("--n-per-quarter", type=float, default=100.0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--format", choices=FORMATS, default="csv")
    p.add_argument("--store", type=Path, help="a store or snapshot folder; default the built store, else the snapshot")
    return parser


def _open(folder: Path | None) -> DataHandle:
    if folder is None:
        return open_data(get_settings())[0]
    if (folder / CURRENT).is_file():
        return open_store(folder)
    return open_snapshot(folder)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        measure(args.measure)  # an unknown measure is refused before the data is read
        tables = load_tables(_open(args.store))
        q = CrimeQuery(source=args.source, level=args.level, crime_types=tuple(args.crime_type),
                       crime_groups=tuple(args.crime_group), start=args.start, end=args.end,
                       measure=args.measure, smoothed=args.smoothed)
        flags = FlagSettings(method=args.method, crime_pct=args.crime_pct, trust_pct=args.trust_pct,
                             trust_measure=args.trust_measure, trust_period=args.trust_period,
                             n_per_quarter=args.n_per_quarter)
        result = priority_table(tables, q, flags)
        written = write_files(priorities_files(tables, result, args.format, args.out.name), args.out.parent)
    except CrimeTrustError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    table = result.table
    print(f"wrote {len(table)} rows ({int(table['flagged'].sum())} flagged) to {args.out}")
    for extra in written[1:]:
        print(f"and its metadata to {extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
