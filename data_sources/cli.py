"""``python -m data_sources``: build the store or the snapshot, update or refresh it, and export tidy counts.

``update`` brings every source up to date from its publisher (``--check`` only reports);
on a fresh clone it starts the store from the embedded snapshot. Errors the user can fix
(a bad file, a missing store, a publisher that cannot be reached) print one clear line;
no traceback. Exit codes (for cron): 0 every source up to date or updated; 2 nothing
updated (an error); 3 some sources updated, others failed (each named); 4 another update
is running on the store (this run changed nothing); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from core.errors import CrimeTrustError
from data_sources.build.build import build_store, gap_lines, summary_lines
from data_sources.counts import write_counts_csv
from data_sources.fetch.refresh import parse_month_range
from data_sources.fetch.update import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    SOURCES,
    check_updates,
    ingest_archive,
    refresh_store,
    update_store,
)
from data_sources.settings import Settings, get_settings
from data_sources.store.lock import StoreBusyError, store_lock
from data_sources.store.snapshot import build_snapshot
from data_sources.store.versions import open_data


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
    r = sub.add_parser("refresh", help="add months from the live police.uk API, or a data.police.uk archive")
    what = r.add_mutually_exclusive_group(required=True)
    what.add_argument("--months", help="YYYY-MM, YYYY-MM..YYYY-MM, or a comma list of either")
    what.add_argument("--archive", help="a data.police.uk archive zip: local path or URL")
    r.add_argument("--area", default="london", help="'london' (default), a borough code or name, or a ward code")
    r.add_argument("--store", type=Path, default=s.store_dir)
    u = sub.add_parser("update", help="pull what the store lacks from every publisher (police.uk, London Datastore)")
    u.add_argument("--source", action="append", choices=list(SOURCES),
                   help="only this source (repeatable; default: all)")
    u.add_argument("--store", type=Path, default=s.store_dir, help=f"store folder (default {s.store_dir})")
    u.add_argument("--check", action="store_true", help="only report what is held, published and would be fetched")
    u.add_argument("--refetch", action="append", default=[], metavar="YYYY-MM[..YYYY-MM]",
                   help="police.uk months to fetch again although held (repeatable)")
    u.add_argument("--all-or-nothing", action="store_true",
                   help="when one source fails, keep nothing (default: update the others and exit 3)")
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
                with store_lock(args.store, what="build"):
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
        elif args.command == "refresh":
            _refresh(args, settings)
        elif args.command == "update":
            return _update(args, settings)
        elif args.command == "counts":
            handle, problem = open_data(replace(settings, store_dir=args.store))
            if problem:
                print(problem, file=sys.stderr)
            n = write_counts_csv(handle, source=args.source, level=args.level, out=args.out)
            print(f"wrote {n:,} rows to {args.out} (from {handle.kind})")
    except StoreBusyError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BUSY
    except CrimeTrustError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: the store was left as it was before this run; run the same command again to "
              "resume (finished requests are cached)", file=sys.stderr)
        return 130
    return 0


def _refresh(args: argparse.Namespace, settings: Settings) -> None:
    """Run ``refresh`` with a progress bar (requests, with an ETA) and print the summary."""
    settings = replace(settings, store_dir=args.store)
    started = time.perf_counter()
    if args.archive:
        with tqdm(unit=" file", desc="archive", file=sys.stderr, dynamic_ncols=True) as bar:
            def one_file(name: str) -> None:
                bar.set_postfix_str(name)
                bar.update(1)

            manifest = ingest_archive(args.archive, settings=settings, progress=one_file)
    else:
        months = parse_month_range(args.months)
        with tqdm(total=None, unit=" req", desc="refresh", file=sys.stderr, dynamic_ncols=True) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            manifest = refresh_store(months, args.area, settings=settings, progress=progress)
    for line in summary_lines(manifest):
        print(line)
    print(f"done in {time.perf_counter() - started:.1f} s")


def _update(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``update`` (or ``update --check``): one progress bar per source, a summary per source; the exit code."""
    settings = replace(settings, store_dir=args.store)
    sources = args.source or list(SOURCES)
    started = time.perf_counter()
    if args.check:
        checks = check_updates(settings, sources=sources)
        for check in checks:
            print(f"{check.source}: held to {check.newest_held or '—'}, published to {check.newest_published or '—'}; "
                  f"{check.note}" + (f" [would fetch: {', '.join(check.to_fetch)}]" if check.to_fetch else ""))
        print(f"checked in {time.perf_counter() - started:.1f} s; nothing was changed")
        failed = [c for c in checks if c.error]
        return EXIT_OK if not failed else EXIT_FAILED if len(failed) == len(checks) else EXIT_SOME_FAILED
    bars: dict[str, tqdm] = {}

    def progress(source: str, done: int, total: int) -> None:
        bar = bars.get(source)
        if bar is None:
            requests = source in ("police_uk", "stop_search")  # counted in requests, the others in bytes
            bar = bars[source] = tqdm(total=total or None, unit=" req" if requests else "B", unit_scale=not requests,
                                      desc=source, file=sys.stderr, dynamic_ncols=True, leave=True)
        bar.total = total or bar.total
        bar.update(done - bar.n)

    def notice(source: str, line: str) -> None:
        tqdm.write(f"{source}: {line}", file=sys.stderr)

    try:
        report = update_store(settings, sources=sources, refetch=args.refetch, progress=progress, notice=notice,
                              all_or_nothing=args.all_or_nothing)
    finally:
        for bar in bars.values():
            bar.close()
    for result in report.results:
        print(f"{result.source}: {result.note}" + (f"; {result.rows:,} rows fetched" if result.rows else ""))
    for line in gap_lines(report.manifest):
        print(line)
    print(f"store: {'new version built ' + str(report.manifest.get('built_at', '')) if report.built else 'unchanged'}; "
          f"done in {time.perf_counter() - started:.1f} s")
    if report.failed:
        names = [r.source for r in report.failed]
        done = [r.source for r in report.results if not r.error]
        print(f"error: {', '.join(names)} failed (see above); {', '.join(done)} "
              f"{'was' if len(done) == 1 else 'were'} updated. Run the same command again later; to retry only "
              f"the failed source{'s' if len(names) > 1 else ''}: python -m data_sources update "
              + " ".join(f"--source {n}" for n in names), file=sys.stderr)
    return report.exit_code
