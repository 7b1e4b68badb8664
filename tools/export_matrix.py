"""Write every CLI export of a fixed matrix of settings into one folder, to compare two commits.

A refactor that must not change behaviour is checked by running this at the commit before
and the commit after, against the same data, and comparing the two folders byte for byte::

    git checkout <before> && .venv/bin/python tools/export_matrix.py --data /tmp/snap --out /tmp/before
    git checkout <after>  && .venv/bin/python tools/export_matrix.py --data /tmp/snap --out /tmp/after
    diff -r /tmp/before /tmp/after && echo identical

Only the command lines are used (``python -m analysis export priorities|progress ...`` and
``python -m data_sources counts ...``), run in-process through their ``main(argv)``, so the
script works on any commit that has those commands. Each command's exit status and printed
lines go to ``<name>.log`` beside its file, so refused input is compared too.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: name → arguments after ``export priorities`` (``--out``/``--store`` are added).
PRIORITIES: dict[str, list[str]] = {
    "ward_default": ["--level", "ward"],
    "borough_default": ["--level", "borough"],
    "ward_pu_burglary_eb": ["--level", "ward", "--source", "police_uk", "--crime-type", "Burglary", "--smoothed"],
    "ward_pu_2022_harm": ["--level", "ward", "--source", "police_uk", "--from", "2022-01", "--to", "2022-12",
                          "--measure", "harm"],
    "borough_pu_burglary_interval": ["--level", "borough", "--source", "police_uk", "--crime-type", "Burglary",
                                     "--measure", "count", "--method", "interval"],
    "ward_mw_burglary_interval": ["--level", "ward", "--crime-group", "BURGLARY", "--measure", "count",
                                  "--method", "interval"],
    "ward_density_goodjob_2022": ["--level", "ward", "--measure", "density", "--trust-measure", "good_job_local",
                                  "--trust-period", "2022-12-31"],
    "ward_harm_rate_thresholds": ["--level", "ward", "--measure", "harm_rate", "--crime-pct", "0.8",
                                  "--trust-pct", "0.25"],
    "borough_violence_n50": ["--level", "borough", "--from", "2023-07", "--to", "2024-06", "--crime-group",
                             "VIOLENCE AGAINST THE PERSON", "--n-per-quarter", "50"],
    "ward_pu_burglary_latest_interval": ["--level", "ward", "--source", "police_uk", "--crime-type", "Burglary",
                                         "--from", "2024-03", "--to", "2025-02", "--method", "interval"],
    "ward_pu_all_types_2022_rate": ["--level", "ward", "--source", "police_uk", "--from", "2022-01", "--to",
                                    "2022-12"],
    "error_unknown_type": ["--level", "ward", "--crime-type", "Nonsense"],
    "error_month_outside": ["--level", "ward", "--from", "2010-01", "--to", "2010-12"],
    "error_interval_harm": ["--level", "ward", "--measure", "harm", "--method", "interval"],
}
GEOJSON = ("ward_default", "borough_default", "ward_pu_burglary_eb")
_BURGLARY = ["--source", "police_uk", "--crime-type", "Burglary"]
#: name → arguments after ``export progress`` (``--out``/``--summary``/``--store`` are added).
PROGRESS: dict[str, list[str]] = {
    "progress_ward_burglary": ["--level", "ward", *_BURGLARY],
    "progress_borough_burglary_harm": ["--level", "borough", *_BURGLARY, "--measure", "harm"],
    "progress_ward_burglary_interval": ["--level", "ward", *_BURGLARY, "--measure", "count", "--method", "interval"],
    "progress_borough_windows_deff": ["--level", "borough", *_BURGLARY, "--to", "2024-12", "--trust-latest",
                                      "2024-12-31", "--design-effect", "2", "--measure", "density"],
    "progress_ward_all_types": ["--level", "ward", "--source", "police_uk", "--baseline-from", "2022-01",
                                "--baseline-to", "2022-06", "--to", "2022-12"],
    "progress_error_baseline_mps": ["--level", "ward"],
    "progress_error_unknown_type": ["--level", "ward", "--source", "police_uk", "--crime-type", "Nonsense"],
    "progress_error_window": ["--level", "ward", *_BURGLARY, "--from", "2024-01", "--to", "2024-06"],
}


def _run(main, argv: list[str], log: Path) -> None:
    """Run one command; its exit status and printed lines (output folder written as OUT) go to ``log``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as e:  # argparse refusals
            status = e.code
    log.write_text(f"exit {status}\n{out.getvalue()}{err.getvalue()}".replace(str(log.parent), "OUT"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a store folder (with CURRENT) or a snapshot folder")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    from analysis.__main__ import main as analysis_main
    from data_sources.cli import main as sources_main

    args.out.mkdir(parents=True, exist_ok=True)
    for name, extra in PRIORITIES.items():
        for fmt in ("csv", "geojson") if name in GEOJSON else ("csv",):
            target = args.out / f"{name}.{fmt}"
            _run(analysis_main, ["export", "priorities", *extra, "--format", fmt, "--out", str(target),
                                 "--store", str(args.data)], args.out / f"{name}.{fmt}.log")
    for name, extra in PROGRESS.items():
        target, summary = args.out / f"{name}.csv", args.out / f"{name}_summary.csv"
        _run(analysis_main, ["export", "progress", *extra, "--out", str(target), "--summary", str(summary),
                             "--store", str(args.data)], args.out / f"{name}.csv.log")
    if (args.data / "CURRENT").is_file():
        for source in ("police_uk", "mps_ward"):
            for level in ("ward", "borough"):
                target = args.out / f"counts_{source}_{level}.csv"
                _run(sources_main, ["counts", "--source", source, "--level", level, "--store", str(args.data),
                                    "--out", str(target)], args.out / f"counts_{source}_{level}.log")
    print(f"wrote {len(list(args.out.iterdir()))} files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
