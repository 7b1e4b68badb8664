"""Hand-made analysis tables shared by the analysis tests: five wards in two boroughs, plus the City."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.tables import AnalysisTables, make_tables

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = REPO / "data" / "snapshot"
B1, B2, CITY, LONDON = "E09000002", "E09000003", "E09000001", "E12000007"
W1, W2, W3, W4, W5 = (f"E0500000{i}" for i in range(1, 6))
BURGLARY, ROBBERY, NFIB = "BURGLARY IN A DWELLING", "ROBBERY OF PERSONAL PROPERTY", "NFIB"


def _counts(rows: list[tuple[str, str, str, str, int]], source: str) -> pd.DataFrame:
    borough = {W1: B1, W2: B1, W3: B1, W4: B2, W5: B2, CITY: CITY}
    return pd.DataFrame({
        "area_code": [r[0] for r in rows], "area_name": [r[0] for r in rows],
        "borough_code": [borough[r[0]] for r in rows], "month": [r[1] for r in rows], "source": source,
        "crime_type": [r[2] for r in rows], "crime_group": [r[3] for r in rows], "count": [r[4] for r in rows]})


def tiny_tables(police_uk: list[tuple[str, str, str, str, int]] | None = None,
                manifest_extra: dict | None = None) -> AnalysisTables:
    """Five wards (W1-W3 in B1, W4-W5 in B2) and the City; Met data Jan-Apr 2024, police.uk Jan-Feb 2022.

    Burglary per month (Met): W1 2, W2 1, W3 0, W4 3; W5 2 in January only. Robbery: W1 1 in
    April, W4 2 in February. NFIB fraud: W2 1 in March. Residents: W1 1000, W2 2000, W3 1000,
    W4 4000, W5 2000, City 500. Trust MPS: B1 0.6, B2 0.8, London 0.7 (Dec 2022); B1 0.58,
    B2 0.82, London 0.71 (Dec 2023). ``police_uk`` replaces the police.uk rows
    ``(area, month, type, group, count)``; ``manifest_extra`` is added to the manifest.
    """
    ward_rows = [(W1, "Ward One", B1, "Borough One", 1.0), (W2, "Ward Two", B1, "Borough One", 2.0),
                 (W3, "Ward Three", B1, "Borough One", 1.0), (W4, "Ward Four", B2, "Borough Two", 4.0),
                 (W5, "Ward Five", B2, "Borough Two", 2.0), (CITY, "City of London", CITY, "City of London", 1.0)]
    areas = pd.DataFrame(
        [(c, n, "ward", b, bn, k) for c, n, b, bn, k in ward_rows]
        + [(B1, "Borough One", "borough", B1, "Borough One", 4.0),
           (B2, "Borough Two", "borough", B2, "Borough Two", 6.0),
           (CITY, "City of London", "borough", CITY, "City of London", 1.0),
           (LONDON, "London", "london", None, None, 11.0)],
        columns=["area_code", "area_name", "area_level", "borough_code", "borough_name", "area_km2"])
    pops = {W1: 1000, W2: 2000, W3: 1000, W4: 4000, W5: 2000}
    population = pd.DataFrame(
        [(c, "ward", p) for c, p in pops.items()] + [(CITY, "ward", 500), (B1, "borough", 4000),
                                                     (B2, "borough", 6000), (CITY, "borough", 500),
                                                     (LONDON, "london", 10500)],
        columns=["area_code", "area_level", "population"])
    months = ["2024-01", "2024-02", "2024-03", "2024-04"]
    mps = [(W1, m, BURGLARY, "BURGLARY", 2) for m in months] + [(W2, m, BURGLARY, "BURGLARY", 1) for m in months]
    mps += [(W4, m, BURGLARY, "BURGLARY", 3) for m in months] + [(W5, "2024-01", BURGLARY, "BURGLARY", 2)]
    mps += [(W1, "2024-04", ROBBERY, "ROBBERY", 1), (W4, "2024-02", ROBBERY, "ROBBERY", 2),
            (W2, "2024-03", NFIB, "NFIB FRAUD", 1)]
    puk = [(w, m, "Burglary", "Burglary", n) for m in ("2022-01", "2022-02")
           for w, n in ((W1, 1), (W2, 2), (W3, 1), (W4, 2), (W5, 1))]
    puk += [(CITY, "2022-02", "Burglary", "Burglary", 3), (CITY, "2022-02", "Anti-social behaviour",
                                                           "Anti-social behaviour", 4)]
    puk = puk if police_uk is None else police_uk
    trust_rows = []
    for period, values in (("2022-12-31", {B1: 0.6, B2: 0.8, LONDON: 0.7}),
                           ("2023-12-31", {B1: 0.58, B2: 0.82, LONDON: 0.71})):
        for code, p in values.items():
            trust_rows.append((code, "london" if code == LONDON else "borough", pd.Timestamp(period), "trust_mps",
                               "Trust MPS", p, pd.NA, "PAS"))
    trust = pd.DataFrame(trust_rows, columns=["area_code", "area_level", "period_end", "measure_id", "measure_label",
                                              "proportion", "sample_size", "source_file"])
    harm = pd.DataFrame([("cchi", "police_uk_crime_type", "Burglary", 244.68),
                         ("cchi", "ho_subgroup", "Residential burglary", 273.5),
                         ("cchi", "ho_subgroup", "Robbery of personal property", 365.0)],
                        columns=["scheme", "applies_to", "category", "weight"])
    manifest = {"code_version": "test", "sources": {"police_uk_street": {"files": [
        {"path": "crime/sample/2022-02-city-of-london-street.csv"}]}}, **(manifest_extra or {})}
    return make_tables(areas=areas, population=population, trust=trust, harm_weights=harm,
                       counts_police_uk=_counts(puk, "police_uk"), counts_mps_ward=_counts(mps, "mps_ward"),
                       manifest=manifest, data_label="tiny test tables")
