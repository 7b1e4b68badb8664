"""police.uk stop and search for ``update``: which months the API holds per force, and pulling the new ones.

police.uk lists, for each month of ``crimes-street-dates``, the forces with stop-and-search
data (``"stop-and-search": ["metropolitan", "city-of-london", ...]``). For each London force
the months newer than the newest the store holds are pulled with ``stops-force`` (one request
per force and month), through the same client as crime (``PoliceApi``: rate limit, retries,
disk cache, faults as ``ApiError``). Each answer is validated by the API reader before it is
kept (``data_sources.store.kept_stops``), so a malformed answer is refused and nothing is kept.
Pulling and keeping are separate: ``update`` fetches every source first and keeps only when
all have succeeded (see ``data_sources.fetch.update``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ApiError
from data_sources.fetch.police_api import PoliceApi
from data_sources.read.stop_search_api import read_stops_force
from data_sources.store.kept_stops import keep_answer

#: The forces whose searches cover London.
LONDON_FORCES = ("metropolitan", "city-of-london")


@dataclass(frozen=True)
class StopsPulled:
    """Answers fetched and checked, not yet kept: ``(force, month) → records``."""

    answers: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    @property
    def note(self) -> str:
        """E.g. 'metropolitan 2025-05 (10,680 searches)', or 'up to date'."""
        parts = [f"{f} {m} ({len(r):,} searches)" for (f, m), r in sorted(self.answers.items())]
        return "; ".join(parts) or "up to date"

    def keep(self, store_dir: Path) -> list[Path]:
        """Keep every answer in the store (after every source of the update has been fetched)."""
        return [keep_answer(store_dir, f, m, r) for (f, m), r in sorted(self.answers.items())]


def published(api: PoliceApi, forces: tuple[str, ...] = LONDON_FORCES) -> dict[str, list[str]]:
    """The months police.uk holds stop and search for, per force, oldest first (``crimes-street-dates``)."""
    data = api.get_json("crimes-street-dates", what="published months", cacheable=False)
    if not isinstance(data, list):
        raise ApiError(f"published months: expected a list, got {str(data)[:100]!r}")
    if not data:  # never "up to date": police.uk may be mid-update
        raise ApiError(f"police.uk lists no published months at all ({api.base_url}/crimes-street-dates answered "
                       "an empty list); it may be mid-update — try again later (nothing was changed)")
    out: dict[str, list[str]] = {f: [] for f in forces}
    for entry in data:
        if isinstance(entry, dict) and isinstance(entry.get("stop-and-search"), list):
            for force in forces:
                if force in entry["stop-and-search"]:
                    out[force].append(str(entry["date"]))
    return {f: sorted(months) for f, months in out.items()}


def to_pull(available: Mapping[str, list[str]], newest_held: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """``(force, month)`` for every month newer than the newest the store holds for that force.

    Examples
    --------
    >>> to_pull({"metropolitan": ["2025-03", "2025-04", "2025-05"], "city-of-london": ["2025-02"]},
    ...         {"metropolitan": "2025-04", "city-of-london": "2025-02"})
    [('metropolitan', '2025-05')]
    """
    return [(force, m) for force, months in available.items() for m in months
            if newest_held.get(force) is None or m > str(newest_held[force])]


def pull(api: PoliceApi, wanted: list[tuple[str, str]], progress: Callable[[str], None] | None = None) -> StopsPulled:
    """Fetch ``stops-force`` for each force and month and check it with the API reader.

    Raises
    ------
    ApiError
        When police.uk fails after bounded retries, or an answer is not a list of searches.
    """
    answers: dict[tuple[str, str], list[Any]] = {}
    for force, month in wanted:
        if progress:
            progress(f"stop and search: {force} {month}")
        what = f"stop and search for {force} in {month}"
        records = api.get_json("stops-force", {"force": force, "date": month}, what=what)
        if not isinstance(records, list):
            raise ApiError(f"{what}: expected a list of searches, got {str(records)[:100]!r}")
        try:
            read_stops_force(records, name=what, force=force, month=month)
        except ValueError as e:  # InputFileError: a record police.uk should never send
            raise ApiError(f"{what}: the answer is not usable ({e})") from e
        answers[(force, month)] = records
    return StopsPulled(answers)
