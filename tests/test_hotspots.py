"""Tests for analysis.hotspots on a hand-built 5×5 grid of square wards, checked against esda."""

from __future__ import annotations

import warnings

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from libpysal.weights import W, w_subset
from scipy import stats
from shapely.geometry import box

from analysis.hotspots import (
    area_weights,
    benjamini_hochberg,
    bivariate_local_moran,
    getis_ord_gi_star,
    neighbours,
    queen_weights,
)
from core.errors import AnalysisInputError

SIDE = 5
IDS = [f"W{r}{c}" for r in range(SIDE) for c in range(SIDE)]
HOT_CELLS = ["W00", "W01", "W10", "W11"]
COLD_CELLS = ["W33", "W34", "W43", "W44"]


def grid(extra: bool = False) -> gpd.GeoDataFrame:
    """Return a 5×5 grid of unit squares (row r, column c), plus an island far away if asked."""
    cells = {f"W{r}{c}": box(c, -r, c + 1, -r + 1) for r in range(SIDE) for c in range(SIDE)}
    if extra:
        cells["ISLAND"] = box(50, 50, 51, 51)
    return gpd.GeoDataFrame({"code": list(cells)}, geometry=list(cells.values())).set_index("code", drop=False)


@pytest.fixture(scope="module")
def weights() -> W:
    return queen_weights(grid())


def planted() -> pd.Series:
    """Crime per area: background 10-12, a hot 2×2 block (40-46) top-left, a cold block (1-2) bottom-right."""
    values = pd.Series(10.0 + (np.arange(25) % 3), index=IDS)
    values[HOT_CELLS] = [40.0, 44.0, 42.0, 46.0]
    values[COLD_CELLS] = [1.0, 2.0, 1.0, 2.0]
    return values


def getis_ord_z(x: np.ndarray, w: W) -> np.ndarray:
    """Gi* z-scores from Getis and Ord (1992) with binary weights and the area as its own neighbour."""
    n = x.size
    a = np.asarray(w.sparse.todense()) != 0
    np.fill_diagonal(a, True)
    a = a.astype(float)
    s = np.sqrt((x**2).mean() - x.mean() ** 2)
    wi = a.sum(axis=1)
    return (a @ x - x.mean() * wi) / (s * np.sqrt((n * (a**2).sum(axis=1) - wi**2) / (n - 1)))


@pytest.mark.parametrize(("area", "expected"), [
    ("W00", ["W01", "W10", "W11"]),
    ("W02", ["W01", "W03", "W11", "W12", "W13"]),
    ("W22", ["W11", "W12", "W13", "W21", "W23", "W31", "W32", "W33"]),
])
def test_queen_weights_neighbours(weights: W, area: str, expected: list) -> None:
    assert weights.id_order == IDS
    assert sorted(weights.neighbors[area]) == expected


def test_queen_weights_by_column_and_island_warning() -> None:
    with pytest.warns(UserWarning, match="1 area.*ISLAND"):
        w = queen_weights(grid(extra=True).reset_index(drop=True), id_column="code")
    assert w.id_order[-1] == "ISLAND" and w.islands == ["ISLAND"]


@pytest.fixture(scope="module")
def display_weights() -> W:
    """Weights built the way the app builds them: from a display table with a ``ward_code`` column."""
    table = grid(extra=True).rename(columns={"code": "ward_code"}).reset_index(drop=True)
    return area_weights(table)


@pytest.mark.parametrize(("area", "expected"), [
    ("W00", ["W01", "W10", "W11"]),                                        # a corner: 3 neighbours
    ("W04", ["W03", "W13", "W14"]),                                        # the other top corner
    ("W20", ["W10", "W11", "W21", "W30", "W31"]),                          # an edge: 5
    ("W22", ["W11", "W12", "W13", "W21", "W23", "W31", "W32", "W33"]),     # inside: 8, corners included
    ("ISLAND", []),                                                        # touches nothing
])
def test_neighbours_are_the_queen_contiguity_of_the_display_polygons(display_weights: W, area: str,
                                                                      expected: list) -> None:
    assert neighbours(display_weights, area) == expected


def test_neighbours_of_an_unknown_code_name_it(display_weights: W) -> None:
    with pytest.raises(AnalysisInputError, match=r"'E05999999'.*26 areas"):
        neighbours(display_weights, "E05999999")


def test_gi_star_z_matches_esda_and_the_getis_ord_formula(weights: W) -> None:
    y = planted().to_numpy()
    ours = getis_ord_gi_star(y, weights, permutations=0)
    reference = esda.G_Local(y, weights, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours["z"], reference.Zs, rtol=1e-10)
    np.testing.assert_allclose(ours["z"], getis_ord_z(y, weights), rtol=1e-10)
    np.testing.assert_allclose(ours["p"], 2 * stats.norm.sf(np.abs(reference.Zs)), rtol=1e-10)


def test_gi_star_finds_the_planted_clusters(weights: W) -> None:
    result = getis_ord_gi_star(planted(), weights, permutations=0)
    assert list(result.index) == IDS and result.index.name == "area_code"
    assert (result.loc[HOT_CELLS, "label"] == "hot").all()
    assert (result.loc[result["label"] == "hot", "z"] > 0).all()
    assert result.loc["W44", "z"] < 0
    assert set(result["label"]) <= {"hot", "cold", "not significant"}
    np.testing.assert_allclose(result["q"], benjamini_hochberg(result["p"]))
    np.testing.assert_array_equal(result["significant"], result["q"] <= 0.05)


def test_gi_star_permutation_p_is_esdas_pseudo_p_doubled(weights: W) -> None:
    y = planted().to_numpy()
    ours = getis_ord_gi_star(y, weights, permutations=199, seed=42)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = esda.G_Local(y, weights, transform="B", star=True, permutations=199, seed=42, n_jobs=1)
    np.testing.assert_allclose(ours["p"], np.minimum(2 * reference.p_sim, 1.0))
    pd.testing.assert_frame_equal(ours, getis_ord_gi_star(y, weights, permutations=199, seed=42))
    assert ours["p"].min() == pytest.approx(2 / 200)  # esda's p_sim is float32


def test_gi_star_series_is_aligned_by_area_code(weights: W) -> None:
    values = planted()
    shuffled = values.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(getis_ord_gi_star(shuffled, weights, permutations=0),
                                  getis_ord_gi_star(values, weights, permutations=0))


def test_gi_star_missing_value_is_labelled_and_the_rest_match_esda_on_the_subset(weights: W) -> None:
    values = planted()
    values["W22"] = np.nan
    result = getis_ord_gi_star(values, weights, permutations=0)
    assert result.loc["W22", "label"] == "no data" and np.isnan(result.loc["W22", "z"])
    kept = [area for area in IDS if area != "W22"]
    reference = esda.G_Local(values[kept].to_numpy(), w_subset(weights, kept), transform="B", star=True,
                             permutations=0)
    np.testing.assert_allclose(result.loc[kept, "z"], reference.Zs, rtol=1e-10)


def test_gi_star_island_is_labelled_and_not_counted_in_fdr() -> None:
    with pytest.warns(UserWarning, match="no neighbour"):
        w = queen_weights(grid(extra=True))
    values = pd.concat([planted(), pd.Series({"ISLAND": 500.0})])
    result = getis_ord_gi_star(values, w, permutations=99)
    assert result.loc["ISLAND", "label"] == "no neighbours"
    assert result.loc["ISLAND", ["z", "p", "q"]].isna().all()
    np.testing.assert_allclose(result.loc[IDS, "q"], benjamini_hochberg(result.loc[IDS, "p"]))


def test_gi_star_does_not_modify_the_weights(weights: W) -> None:
    before = (weights.transform, weights.sparse.diagonal().sum(), dict(weights.weights))
    getis_ord_gi_star(planted(), weights, permutations=9)
    bivariate_local_moran(planted(), -planted(), weights, permutations=9)
    assert (weights.transform, weights.sparse.diagonal().sum(), dict(weights.weights)) == before


@pytest.mark.parametrize(("values", "labels"), [
    (np.full(25, np.nan), {"no data"}),
    (np.full(25, 3.0), {"not significant"}),
])
def test_gi_star_degenerate_input_does_not_crash(weights: W, values: np.ndarray, labels: set) -> None:
    assert set(getis_ord_gi_star(values, weights, permutations=0)["label"]) == labels


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"values": np.ones(24)}, "24 values for 25 areas"),
    ({"values": np.ones(25), "permutations": -1}, "permutations"),
])
def test_gi_star_rejects_bad_input(weights: W, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        getis_ord_gi_star(weights=weights, **kwargs)



@pytest.mark.parametrize(("pvalues", "expected"), [
    # Sorted 0.005, 0.01, 0.03, 0.04, 0.20 → p·5/rank 0.025, 0.025, 0.05, 0.05, 0.20 (already monotone).
    ([0.01, 0.04, 0.03, 0.005, 0.20], [0.025, 0.05, 0.05, 0.025, 0.20]),
    # Step-up: p·3/rank = 0.06, 0.045, 0.04 → running minimum from the top gives 0.04 for all.
    ([0.02, 0.03, 0.04], [0.04, 0.04, 0.04]),
    # NaN is not a test: m = 2 here.
    ([0.01, np.nan, 0.04], [0.02, np.nan, 0.04]),
    # Capped at 1; ties share a q-value.
    ([0.9, 0.9, 0.6], [0.9, 0.9, 0.9]),
    ([], []),
])
def test_benjamini_hochberg_by_hand(pvalues: list, expected: list) -> None:
    np.testing.assert_allclose(benjamini_hochberg(pvalues), expected)


@pytest.mark.parametrize("seed", range(5))
def test_benjamini_hochberg_rejects_what_esda_fdr_rejects(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 0.002, 20), rng.uniform(0, 1, 300)])
    cutoff = esda.fdr(p, 0.05)
    np.testing.assert_array_equal(benjamini_hochberg(p) <= 0.05, p <= cutoff)


def test_bivariate_moran_matches_esda_and_labels_quadrants(weights: W) -> None:
    crime = planted().to_numpy()
    trust = 0.8 - crime / 100
    result = bivariate_local_moran(crime, trust, weights, permutations=199, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = esda.Moran_Local_BV(crime, trust, w_subset(weights, IDS), permutations=199, seed=3)
    np.testing.assert_allclose(result["Ii"], reference.Is, rtol=1e-10)
    np.testing.assert_allclose(result["p"], np.minimum(2 * reference.p_sim, 1.0))
    # Quadrant by hand: sign of the area's z(crime) and of its neighbours' mean z(trust).
    zx = (crime - crime.mean()) / crime.std()
    zy = (trust - trust.mean()) / trust.std()
    lag = np.array([np.mean([zy[IDS.index(j)] for j in weights.neighbors[i]]) for i in IDS])
    names = {(True, False): "high crime–low trust", (False, True): "low crime–high trust",
             (True, True): "high crime–high trust", (False, False): "low crime–low trust"}
    assert result["quadrant"].tolist() == [names[(a > 0, b > 0)] for a, b in zip(zx, lag, strict=True)]
    assert (result.loc[HOT_CELLS, "label"] == "high crime–low trust").all()
    significant = result["significant"]
    assert (result.loc[~significant, "label"] == "not significant").all()


def test_bivariate_moran_names_and_missing_values(weights: W) -> None:
    x = planted()
    x["W24"] = np.nan
    result = bivariate_local_moran(x, x, weights, permutations=99, x_name="burglary", y_name="confidence")
    assert result.loc["W24", "label"] == "no data" and np.isnan(result.loc["W24", "Ii"])
    assert result.loc["W00", "quadrant"] == "high burglary–high confidence"


def test_bivariate_moran_requires_permutations(weights: W) -> None:
    with pytest.raises(ValueError, match="permutations"):
        bivariate_local_moran(planted(), planted(), weights, permutations=0)
