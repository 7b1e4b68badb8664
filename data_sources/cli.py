"""``python -m data_sources``: build the store or the snapshot, and export tidy counts.

Errors the user can fix (a bad file, a missing store) print one clear line and exit 2;
no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from data_sources.build import build_store, summary_lines
from data_sources.counts import write_counts_csv
from data_sources.errors import CrimeTrustError
from data_sources.settings import get_settings
from data_sources.snapshot import build_snapshot
from data_sources.store import open_data


def _parser() -> argparse.ArgumentParser:
    s = get_settings()
    p = argparse.ArgumentParser(prog="python -m data_sources", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the store from the raw data folder")
    b.add_argument("--data-dir", type=Path, default=s.data_dir, help=f"raw data (default {s.data_dir})")
    b.add_argument("--store", type=Path, default=s.store_dir, help=f"store folder (default {s.store_dir})")
    b.add_argument("--street", type=Path, action="append",
                   help="street files, folders or archive zips (default: DATA_DIR/crime); repeatable")
    b.add_argument("--snapshot", action="store_true", help="also write the compact snapshot to data/snapshot/")
    c = sub.add_parser("counts", help="write ward or borough crime counts per month as CSV")
    c.add_argument("--source", choices=["police_uk", "mps_ward"], required=True)
    c.add_argument("--level", choices=["ward", "borough"], default="ward")
    c.add_argument("--store", type=Path, default=s.store_dir)
    c.add_argument("--out", type=Path, required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    try:
        if args.command == "build":
            bar = tqdm(total=None, unit=" step", desc="build", file=sys.stderr, dynamic_ncols=True)
            started = time.perf_counter()

            def progress(msg: str) -> None:
                bar.set_postfix_str(msg[:60])
                bar.update(1)

            try:
                manifest = build_store(args.data_dir.resolve(), args.store, progress=progress,
                                       street_paths=args.street)
            finally:
                bar.close()
            for line in summary_lines(manifest):
                print(line)
            if args.snapshot:
                info = build_snapshot(args.store, settings.snapshot_dir)
                print(f"snapshot: {info['bytes'] / 1e6:.2f} MB in {info['files']} files at {settings.snapshot_dir}")
            print(f"done in {time.perf_counter() - started:.1f} s")
        elif args.command == "counts":
            from dataclasses import replace
            handle, problem = open_data(replace(settings, store_dir=args.store))
            if problem:
                print(problem, file=sys.stderr)
            n = write_counts_csv(handle, source=args.source, level=args.level, out=args.out)
            print(f"wrote {n:,} rows to {args.out} (from {handle.kind})")
    except CrimeTrustError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the store was left as it was before this run", file=sys.stderr)
        return 130
    return 0
