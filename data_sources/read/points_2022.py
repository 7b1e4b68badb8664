"""London 2022 street-level crime points, all types but anti-social behaviour (Ashby, UCL).

Five columns only (month, type, location_type, longitude, latitude), with the author's
lower-case type labels. It is the pre-plan baseline year for every crime type at point
level. The author planted 100 crimes from neighbouring forces as a cleaning exercise;
they fall outside every London ward and are dropped by the spatial join, not here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from core.errors import InputFileError
from data_sources.read._limits import check_size
from data_sources.schemas import STREET_CRIMES

POINTS_FILE = "crime/police_uk_london_2022_points_no_asb/london_crimes_2022.csv.gz"
YEAR = 2022

#: The author's labels → police.uk crime types.
TYPE_LABELS = {
    "violent or sexual": "Violence and sexual offences",
    "other theft": "Other theft",
    "vehicle crime": "Vehicle crime",
    "theft from person": "Theft from the person",
    "public order": "Public order",
    "criminal damage or arson": "Criminal damage and arson",
    "burglary": "Burglary",
    "drugs": "Drugs",
    "shoplifting": "Shoplifting",
    "robbery": "Robbery",
    "bicycle theft": "Bicycle theft",
    "other": "Other crime",
    "weapon possession": "Possession of weapons",
}
_COLUMNS = ["month", "type", "location_type", "longitude", "latitude"]


def read_points_2022(path: Path) -> pd.DataFrame:
    """Read the 2022 points into the STREET_CRIMES schema (``dataset='points_2022'``)."""
    if not path.is_file():
        raise InputFileError(path, "file not found", hint="check --data-dir or $CRIME_TRUST_DATA")
    check_size(path)
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={"month": pa.int64(), "type": pa.string(), "location_type": pa.string(),
                          "longitude": pa.float64(), "latitude": pa.float64()},
            include_columns=_COLUMNS))
    except (pa.ArrowInvalid, OSError, EOFError) as e:
        raise InputFileError(path, f"cannot be read as the 2022 points table ({str(e).splitlines()[0]})",
                             hint="expect month,type,location_type,longitude,latitude") from e
    frame = table.to_pandas()
    bad_month = ~frame["month"].between(1, 12)
    if bad_month.any():
        line = int(bad_month.to_numpy().argmax()) + 2
        raise InputFileError(path, f"month {frame['month'].iloc[line - 2]} is not 1..12", line=line,
                             hint="the 2022 points give the month as a number 1..12")
    crime_type = frame["type"].map(TYPE_LABELS)
    if crime_type.isna().any():
        line = int(crime_type.isna().to_numpy().argmax()) + 2
        raise InputFileError(path, f"unknown crime type label {frame['type'].iloc[line - 2]!r}", line=line,
                             hint=f"known labels: {sorted(TYPE_LABELS)}")
    n = len(frame)
    na = pd.Series(pd.NA, index=frame.index, dtype="string")
    out = pd.DataFrame({
        "crime_id": na, "api_id": pd.array([pd.NA] * n, dtype="Int64"),
        "month": pd.Categorical.from_codes(frame["month"] - 1, [f"{YEAR}-{m:02d}" for m in range(1, 13)]),
        "reported_by": na, "falls_within": na,
        "longitude": frame["longitude"].to_numpy(np.float64), "latitude": frame["latitude"].to_numpy(np.float64),
        "location": na, "location_type": frame["location_type"].replace("", None),
        "lsoa_code": na, "lsoa_name": na, "crime_type": crime_type, "last_outcome": na,
        "dataset": "points_2022", "source_file": POINTS_FILE,
    })
    return STREET_CRIMES.conform(out)
