"""London's 2022 wards and boroughs as polygons, from the police.uk neighbourhood KMLs.

police.uk publishes one KML per Met neighbourhood, named by the 2022 ward code (65 carry
a trailing ``N`` where the neighbourhood outline differs slightly from the statutory
ward). The City of London Police's six neighbourhoods are merged into one area, the
City, because population and trust are only known for the City as a whole.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon

from core.errors import InputFileError
from geo.london import CITY_OF_LONDON_CODE, CRS_AREAS, CRS_DISPLAY

WARD_COLUMNS = ["ward_code", "ward_name", "borough_code", "borough_name", "geometry"]
_WARD_CODE = re.compile(r"^E05\d{6}$")


def _kml_polygons(path: Path) -> MultiPolygon:
    """Parse every Polygon (outer ring and holes) of a KML file, namespace-agnostic."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise InputFileError(path, f"not valid KML/XML ({e})", hint="re-download the neighbourhood boundaries") from e

    def ring(el: ET.Element) -> list[tuple[float, float]]:
        text = next((c.text for c in el.iter() if c.tag.endswith("coordinates")), "") or ""
        return [(float(x), float(y)) for x, y, *_ in (p.split(",") for p in text.split())]

    polygons = []
    for poly in (el for el in root.iter() if el.tag.endswith("Polygon")):
        outer = next((el for el in poly if el.tag.endswith("outerBoundaryIs")), None)
        if outer is None:
            continue
        holes = [ring(el) for el in poly if el.tag.endswith("innerBoundaryIs")]
        polygons.append(Polygon(ring(outer), holes))
    if not polygons:
        raise InputFileError(path, "holds no Polygon", hint="check it is a police.uk neighbourhood boundary")
    return MultiPolygon(polygons)


def read_neighbourhood_kmls(folder: Path) -> gpd.GeoDataFrame:
    """Read a folder of police.uk neighbourhood KMLs into ``id, geometry`` (EPSG:4326).

    The id is the file name without ``.kml``; nothing inside the file names it.
    """
    files = sorted(folder.glob("*.kml"))
    if not files:
        raise InputFileError(folder, "contains no .kml files", hint="point --data-dir at the shared data folder")
    geoms = [_kml_polygons(f) for f in files]
    return gpd.GeoDataFrame({"id": [f.stem for f in files]}, geometry=geoms, crs=CRS_DISPLAY)


def build_wards(met_kml_dir: Path, city_kml_dir: Path, ward_lookup: pd.DataFrame) -> gpd.GeoDataFrame:
    """Assemble the 2022 London wards (Met wards plus the City as one area) in EPSG:27700.

    Parameters
    ----------
    met_kml_dir, city_kml_dir
        Folders of police.uk neighbourhood KMLs for the Met and the City of London Police.
    ward_lookup
        One row per ward with ``ward_code, ward_name, borough_code, borough_name``
        (from the ONS LSOA→ward→borough lookup).

    Returns
    -------
    GeoDataFrame
        ``ward_code, ward_name, borough_code, borough_name, geometry`` in British National
        Grid, one row per ward, the City of London under its borough code.
    """
    met = read_neighbourhood_kmls(met_kml_dir)
    met["ward_code"] = met["id"].str.removesuffix("N")
    bad = met.loc[~met["ward_code"].str.match(_WARD_CODE), "id"].tolist()
    if bad:
        raise InputFileError(met_kml_dir, f"KML names that are not ward codes: {bad[:5]!r}",
                             hint="expect E05xxxxxx.kml")
    city = read_neighbourhood_kmls(city_kml_dir)
    city_geom = shapely.union_all(city.to_crs(CRS_AREAS).geometry.values)
    met = met.to_crs(CRS_AREAS)
    met.geometry = met.geometry.make_valid()
    city_row = gpd.GeoDataFrame({"ward_code": [CITY_OF_LONDON_CODE]}, geometry=[city_geom], crs=CRS_AREAS)
    wards = pd.concat([met[["ward_code", "geometry"]], city_row], ignore_index=True)

    names = ward_lookup.drop_duplicates("ward_code").set_index("ward_code")
    city_name = names.loc[names["borough_code"] == CITY_OF_LONDON_CODE, "borough_name"]
    names.loc[CITY_OF_LONDON_CODE] = {
        "ward_name": "City of London",
        "borough_code": CITY_OF_LONDON_CODE,
        "borough_name": city_name.iloc[0] if len(city_name) else "City of London",
    }
    missing = sorted(set(wards["ward_code"]) - set(names.index))
    if missing:
        raise InputFileError(
            met_kml_dir, f"{len(missing)} ward codes are not in the LSOA→ward lookup, e.g. {missing[:3]!r}",
            hint="use the 2022-or-later ward lookup",
        )
    wards = wards.join(names[["ward_name", "borough_code", "borough_name"]], on="ward_code")
    return gpd.GeoDataFrame(wards[WARD_COLUMNS], crs=CRS_AREAS).sort_values("ward_code", ignore_index=True)


def dissolve_boroughs(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dissolve wards into their boroughs: ``borough_code, borough_name, geometry``."""
    boroughs = wards.dissolve(by=["borough_code", "borough_name"], as_index=False)
    return boroughs[["borough_code", "borough_name", "geometry"]].sort_values("borough_code", ignore_index=True)


def display_geometry(areas: gpd.GeoDataFrame, *, tolerance_m: float = 25.0, decimals: int = 5) -> gpd.GeoDataFrame:
    """Simplify a set of adjoining areas for display and return it in WGS84.

    ``shapely.coverage_simplify`` simplifies shared edges once, so neighbours keep a
    common boundary: no slivers or gaps appear between wards, unlike simplifying each
    polygon on its own. Coordinates are then rounded (5 decimals ≈ 1 m) to keep the
    map's JSON small.
    """
    if areas.crs is None or areas.crs.to_string() != CRS_AREAS:
        raise ValueError(f"display_geometry expects {CRS_AREAS} areas, got {areas.crs!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        simple = shapely.coverage_simplify(areas.geometry.values, tolerance_m, simplify_boundary=True)
    out = areas.copy()
    out.geometry = gpd.GeoSeries(simple, index=areas.index, crs=CRS_AREAS)
    out = out.to_crs(CRS_DISPLAY)
    out.geometry = shapely.set_precision(out.geometry.values, 10.0**-decimals)
    return out


#: Simplification for the wards the snapshot carries to place crimes on a machine without
#: the raw polygons. Measured over the 849,409 London points of 2022 against the full
#: police.uk polygons (share placed in the same ward, GeoParquet size): 1 m and a 0.01 m
#: grid 99.998%, 1.62 MB; **2 m and a 0.1 m grid 99.972%, 0.96 MB**; 5 m and 0.1 m 99.945%,
#: 0.65 MB; 5 m and a 1 m grid 99.864%; 10 m 99.77%. Police.uk snap points often lie on
#: street centre lines, which are ward edges, so coarse grids move points across edges.
PLACEMENT_TOLERANCE_M = 2.0
PLACEMENT_GRID_M = 0.1


def placement_geometry(wards: gpd.GeoDataFrame, *, tolerance_m: float = PLACEMENT_TOLERANCE_M,
                       grid_m: float = PLACEMENT_GRID_M) -> gpd.GeoDataFrame:
    """Simplify wards for placing crimes: shared edges once (no gaps), coordinates on a grid, in EPSG:27700.

    ``shapely.coverage_simplify`` keeps neighbouring wards on one common edge; the grid
    rounding shrinks the file. The defaults keep ≥ 99.9% of crimes in the same ward as the
    full polygons (see :data:`PLACEMENT_TOLERANCE_M`); ``tests/test_placement.py`` checks it.
    """
    if wards.crs is None or wards.crs.to_string() != CRS_AREAS:
        raise ValueError(f"placement_geometry expects {CRS_AREAS} wards, got {wards.crs!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        simple = shapely.coverage_simplify(wards.geometry.values, tolerance_m, simplify_boundary=True)
    out = wards.copy()
    out.geometry = gpd.GeoSeries(shapely.make_valid(shapely.set_precision(simple, grid_m)), index=wards.index,
                                 crs=CRS_AREAS)
    return out
