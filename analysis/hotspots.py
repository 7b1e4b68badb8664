"""Local spatial statistics: Getis–Ord Gi* hot spots and bivariate local Moran clusters.

Thin, tested wrappers around PySAL (``esda`` on ``libpysal`` weights) that return one
tidy DataFrame row per area, label each area in words and control the false discovery
rate across the ~680 simultaneous local tests with Benjamini–Hochberg. Areas with a
missing value or no neighbour are kept in the output, labelled, and left out of the
tests, so one odd ward never makes the whole map fail.
"""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING

import esda
import numpy as np
import pandas as pd
from libpysal.weights import Queen, W, w_subset
from numpy.typing import ArrayLike
from scipy import stats

from core.errors import AnalysisInputError

if TYPE_CHECKING:
    import geopandas as gpd

HOT, COLD, NOT_SIGNIFICANT = "hot", "cold", "not significant"
NO_NEIGHBOURS, NO_DATA = "no neighbours", "no data"


def queen_weights(gdf: gpd.GeoDataFrame, *, id_column: str | None = None) -> W:
    """Return Queen contiguity weights (shared edge or corner) for a set of polygons.

    Queen contiguity is the usual neighbourhood for administrative areas such as wards,
    whose sizes vary too much for a distance band. An area touching no other (an island,
    or a ward separated by a sliver gap in the boundary file) gets one ``UserWarning``
    naming it; it stays in the weights, and the statistics here label it "no neighbours"
    instead of testing it.

    Parameters
    ----------
    gdf
        Polygons, one row per area.
    id_column
        Column holding area codes; by default the index is used.

    Returns
    -------
    libpysal.weights.W
        Binary contiguity weights whose ``id_order`` follows the rows of ``gdf``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> grid = gpd.GeoDataFrame(geometry=[box(i, 0, i + 1, 1) for i in range(3)], index=["a", "b", "c"])
    >>> w = queen_weights(grid)
    >>> w.id_order, sorted(w.neighbors["b"])
    (['a', 'b', 'c'], ['a', 'c'])
    """
    ids = list(gdf.index) if id_column is None else list(gdf[id_column])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        weights = Queen.from_dataframe(gdf, ids=ids, silence_warnings=True)
    if weights.islands:
        shown = ", ".join(map(str, weights.islands[:5])) + (", ..." if len(weights.islands) > 5 else "")
        warnings.warn(f"{len(weights.islands)} area(s) have no neighbour and will not be tested: {shown}",
                      UserWarning, stacklevel=2)
    return weights


def benjamini_hochberg(pvalues: ArrayLike) -> np.ndarray:
    """Return Benjamini–Hochberg adjusted p-values (q-values); NaN p-values stay NaN.

    Testing 680 wards at 5% each would flag about 34 by chance alone. Rejecting where
    ``q <= alpha`` is the BH (1995) step-up procedure, which keeps the expected share of
    false discoveries among flagged areas at ``alpha`` (for independent or positively
    dependent tests), and is far less conservative than Bonferroni. The adjusted value is
    ``q_(i) = min_{j >= i} p_(j) m / j`` over the ``m`` non-missing p-values, capped at 1.

    Parameters
    ----------
    pvalues
        P-values, NaN for areas not tested.

    Returns
    -------
    numpy.ndarray
        Q-values in the input order.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.005, 0.20]).round(3).tolist()
    [0.025, 0.05, 0.05, 0.025, 0.2]
    """
    p = np.asarray(pvalues, dtype=float)
    q = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    scaled = p[order] * order.size / np.arange(1, order.size + 1)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


def _aligned(values: ArrayLike, weights: W, name: str) -> np.ndarray:
    """Return ``values`` as floats in ``weights.id_order`` (a Series is matched by index)."""
    if isinstance(values, pd.Series):
        return pd.to_numeric(values.reindex(weights.id_order), errors="coerce").to_numpy(dtype=float)
    array = np.asarray(values, dtype=float).ravel()
    if array.size != weights.n:
        raise ValueError(f"{name} has {array.size} values for {weights.n} areas in the weights")
    return array


def _testable(present: np.ndarray, weights: W) -> tuple[W, np.ndarray]:
    """Return a private copy of the weights for the present areas, and which of them are islands.

    esda sets the transform on the weights it is given, so it always gets a copy.
    """
    ids = np.asarray(weights.id_order, dtype=object)[present].tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sub = copy.deepcopy(weights) if present.all() else w_subset(weights, ids, silence_warnings=True)
    islands = np.isin(np.asarray(sub.id_order, dtype=object), np.asarray(sub.islands, dtype=object))
    return sub, islands


def _two_sided(z: np.ndarray, p_sim: np.ndarray | None) -> np.ndarray:
    """Return two-sided p-values: from the normal for ``z``, or by doubling esda's folded pseudo-p."""
    if p_sim is None:
        return 2.0 * stats.norm.sf(np.abs(z))
    return np.minimum(2.0 * np.asarray(p_sim, dtype=float), 1.0)


def getis_ord_gi_star(values: ArrayLike, weights: W, *, permutations: int = 999, seed: int | None = 0,
                      fdr: float = 0.05) -> pd.DataFrame:
    """Return Getis–Ord Gi* z-scores, FDR-controlled p-values and hot/cold labels per area.

    Gi* asks whether an area together with its neighbours has a higher (hot) or lower
    (cold) total than chance would give, so it finds clusters rather than single extreme
    wards. It uses ``esda.G_Local(star=True)`` on binary weights with each area counted as
    its own neighbour; on binary weights esda's analytical moments are those of Getis and
    Ord (1992), which is why weights are binarised here.

    The p-value is two-sided. With ``permutations=0`` it is analytical, ``2·Φ(-|z|)``, and
    takes milliseconds; otherwise it is esda's conditional-permutation pseudo p-value (which
    is folded, i.e. one-sided in the observed direction) doubled and capped at 1. ``q`` is
    the Benjamini–Hochberg adjusted p-value over the tested areas and ``significant`` is
    ``q <= fdr``. The label is "hot" or "cold" (sign of ``z``) when significant, else "not
    significant"; areas without a value are "no data" and islands "no neighbours", both
    with NaN statistics and left out of the FDR count.

    Parameters
    ----------
    values
        One value per area in ``weights.id_order``, or a Series indexed by area code (areas
        absent from the Series count as missing).
    weights
        libpysal weights, e.g. from ``queen_weights``; not modified.
    permutations
        Number of conditional permutations; 0 for the analytical p-value.
    seed
        Seed for the permutations, so results are reproducible (esda runs single-threaded
        here for the same reason).
    fdr
        False discovery rate for ``significant``.

    Returns
    -------
    pandas.DataFrame
        Indexed by area code in ``weights.id_order``, with columns ``value``, ``z``, ``p``,
        ``q``, ``significant`` and ``label``.

    Examples
    --------
    >>> import libpysal
    >>> w = libpysal.weights.lat2W(5, 5)
    >>> y = np.ones(25)
    >>> y[[0, 1, 5, 6]] = 10.0
    >>> result = getis_ord_gi_star(y, w, permutations=0)
    >>> result.loc[[0, 6, 24], "z"].round(2).tolist()
    [4.15, 2.94, -0.79]
    >>> result.loc[[0, 6, 24], "label"].tolist()
    ['hot', 'hot', 'not significant']
    """
    if permutations < 0:
        raise ValueError(f"permutations must be 0 or more, got {permutations}")
    y = _aligned(values, weights, "values")
    present = ~np.isnan(y)
    z, p = np.full(y.size, np.nan), np.full(y.size, np.nan)
    labels = np.where(present, NOT_SIGNIFICANT, NO_DATA).astype(object)
    if present.sum() >= 2:
        sub, islands = _testable(present, weights)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            gi = esda.G_Local(y[present], sub, transform="B", star=True, permutations=permutations, seed=seed,
                              n_jobs=1, keep_simulations=False)
        z_sub = np.where(islands, np.nan, gi.Zs)
        z[present] = z_sub
        p[present] = np.where(np.isnan(z_sub), np.nan, _two_sided(gi.Zs, gi.p_sim if permutations else None))
        labels[np.flatnonzero(present)[islands]] = NO_NEIGHBOURS
    q = benjamini_hochberg(p)
    significant = q <= fdr
    labels[significant & (z > 0)] = HOT
    labels[significant & (z < 0)] = COLD
    return pd.DataFrame({"value": y, "z": z, "p": p, "q": q, "significant": significant, "label": labels},
                        index=pd.Index(weights.id_order, name="area_code"))


# esda's quadrant codes 1-4: (x here, y around) = HH, LH, LL, HL.
QUADRANTS = {1: ("high", "high"), 2: ("low", "high"), 3: ("low", "low"), 4: ("high", "low")}


def bivariate_local_moran(x: ArrayLike, y: ArrayLike, weights: W, *, permutations: int = 999,
                          seed: int | None = 0, fdr: float = 0.05, x_name: str = "crime",
                          y_name: str = "trust") -> pd.DataFrame:
    """Return bivariate local Moran's I of ``x`` against the neighbours' ``y``, with quadrant labels.

    The bivariate LISA ``I_i ∝ z_x,i · Σ_j w_ij z_y,j`` (``esda.Moran_Local_BV``, row-
    standardised weights) asks whether an area's crime goes with its neighbours' trust.
    Quadrant 4, high ``x`` here and low ``y`` around, is "high crime–low trust". There is
    no analytical inference for this statistic in esda, so ``permutations`` must be
    positive; the p-value is esda's folded pseudo p-value doubled (two-sided, capped at 1)
    to match ``getis_ord_gi_star``, and ``q`` is its Benjamini–Hochberg adjustment.

    Parameters
    ----------
    x, y
        One value per area in ``weights.id_order``, or Series indexed by area code.
    weights
        libpysal weights, e.g. from ``queen_weights``; not modified.
    permutations
        Number of conditional permutations (at least 1; 999 gives p down to 0.002).
    seed
        Seed for the permutations.
    fdr
        False discovery rate for ``significant``.
    x_name, y_name
        Words used in the labels.

    Returns
    -------
    pandas.DataFrame
        Indexed by area code, with columns ``Ii``, ``p``, ``q``, ``significant``,
        ``quadrant`` (the label of the area's quadrant whether or not significant, e.g.
        "high crime–low trust") and ``label`` (the quadrant when significant, else "not
        significant", "no data" or "no neighbours").

    Examples
    --------
    >>> import libpysal
    >>> w = libpysal.weights.lat2W(4, 4)
    >>> crime = np.r_[np.full(8, 9.0), np.full(8, 1.0)]
    >>> result = bivariate_local_moran(crime, 10 - crime, w, permutations=99)
    >>> result["quadrant"].iloc[[0, 15]].tolist()
    ['high crime–low trust', 'low crime–high trust']
    """
    if permutations < 1:
        raise ValueError("bivariate local Moran needs permutations >= 1 (esda has no analytical p-value)")
    xs, ys = _aligned(x, weights, "x"), _aligned(y, weights, "y")
    present = ~np.isnan(xs) & ~np.isnan(ys)
    n = xs.size
    local_i, p = np.full(n, np.nan), np.full(n, np.nan)
    quadrant = np.full(n, NO_DATA, dtype=object)
    labels = np.where(present, NOT_SIGNIFICANT, NO_DATA).astype(object)
    names = np.array([NO_DATA] + [f"{a} {x_name}–{b} {y_name}" for a, b in QUADRANTS.values()], dtype=object)
    if present.sum() >= 2:
        sub, islands = _testable(present, weights)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            lisa = esda.Moran_Local_BV(xs[present], ys[present], sub, transformation="r",
                                       permutations=permutations, seed=seed, keep_simulations=False)
        rows = np.flatnonzero(present)
        local_i[rows] = np.where(islands, np.nan, lisa.Is)
        p[rows] = np.where(islands, np.nan, _two_sided(lisa.Is, lisa.p_sim))
        quadrant[rows] = np.where(islands, NO_NEIGHBOURS, names[np.asarray(lisa.q, dtype=np.intp)])
        labels[rows[islands]] = NO_NEIGHBOURS
    q = benjamini_hochberg(p)
    significant = q <= fdr
    labels[significant] = quadrant[significant]
    return pd.DataFrame({"Ii": local_i, "p": p, "q": q, "significant": significant, "quadrant": quadrant,
                         "label": labels}, index=pd.Index(weights.id_order, name="area_code"))


def area_weights(display: gpd.GeoDataFrame | None) -> W:
    """Queen weights of the ward or borough display polygons (slow: build once per data version).

    ``display`` is the ``wards_display`` or ``boroughs_display`` table of the store; its
    area code column is ``ward_code`` or ``area_code``.
    """
    if display is None:
        raise AnalysisInputError("hot spots need the ward/borough display geometry, which these tables lack")
    id_column = "ward_code" if "ward_code" in display.columns else "area_code"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # islands are labelled "no neighbours" downstream
        return queen_weights(display.reset_index(drop=True), id_column=id_column)


def neighbours(weights: W, area_code: str) -> list[str]:
    """Return the codes of the areas touching ``area_code`` (its queen neighbours), sorted.

    The same contiguity the hot-spot statistics use, so the areas a profile lists as
    neighbours are exactly those Gi* pools with it. An island has none; an unknown code
    is an error naming it.

    Parameters
    ----------
    weights
        Contiguity weights, e.g. :func:`area_weights` of the ward or borough display polygons.
    area_code
        An area in the weights.

    Returns
    -------
    list of str

    Raises
    ------
    AnalysisInputError
        For a code that is not in the weights.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> grid = gpd.GeoDataFrame(geometry=[box(i, 0, i + 1, 1) for i in range(3)], index=["a", "b", "c"])
    >>> neighbours(queen_weights(grid), "a"), neighbours(queen_weights(grid), "b")
    (['b'], ['a', 'c'])
    """
    if area_code not in weights.neighbors:
        msg = f"unknown area code {area_code!r}: not among the {weights.n} areas of these weights"
        raise AnalysisInputError(msg)
    return sorted(str(c) for c in weights.neighbors[area_code])


def hotspot_columns(table: pd.DataFrame, weights: W, *, permutations: int = 999, seed: int = 0,
                    bivariate: bool = True) -> pd.DataFrame:
    """Return Gi* hot-spot and bivariate local Moran columns for a priority table (slow: call on demand).

    Gi* runs on the table's crime ``value`` with analytical p-values; the bivariate local
    Moran of crime against neighbours' trust uses ``permutations``. Both use queen contiguity
    and a Benjamini–Hochberg false discovery rate of 5%.

    Parameters
    ----------
    table
        Crime measures or a priority table (``area_code``, ``value``; ``trust`` for the
        bivariate Moran), ward or borough level.
    weights
        ``area_weights`` of the same level's display polygons.
    permutations, seed
        For the local Moran's permutation test.
    bivariate
        Also compute the bivariate local Moran (about 0.6 s for wards with 999
        permutations); a map of Gi* hot spots alone can skip it.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``table``: ``gi_z``, ``gi_q``, ``hotspot`` ('hot', 'cold', 'not
        significant', 'no data', 'no neighbours'), ``lisa_quadrant`` and ``lisa_label``
        (absent when ``bivariate`` is False).
    """
    crime = pd.Series(table["value"].to_numpy(dtype=float), index=table["area_code"].astype(str))
    gi = getis_ord_gi_star(crime, weights, permutations=0)
    codes = table["area_code"].astype(str)
    out = pd.DataFrame({
        "gi_z": codes.map(gi["z"]).to_numpy(), "gi_q": codes.map(gi["q"]).to_numpy(),
        "hotspot": codes.map(gi["label"]).fillna(NO_DATA).to_numpy(),
    }, index=table.index)
    if bivariate:
        trust = pd.Series(table["trust"].to_numpy(dtype=float), index=table["area_code"].astype(str))
        lisa = bivariate_local_moran(crime, trust, weights, permutations=max(permutations, 1), seed=seed)
        out["lisa_quadrant"] = codes.map(lisa["quadrant"]).to_numpy()
        out["lisa_label"] = codes.map(lisa["label"]).fillna(NO_DATA).to_numpy()
    return out
