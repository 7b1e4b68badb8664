"""Readers: one module per published file layout, each returning a table in a ``data_sources.schemas`` shape.

Belongs here: parsing a file as its publisher lays it out (police.uk street CSVs and API
answers, the Met's ward counts, the MOPAC surveys, the 2022 points, population, the ward
lookup, the harm weights), and the shared checks they read through (``_csv``, ``_dialect``,
``_sniff``, ``_limits``). Does not belong here: the network (``fetch``), writing the store
(``store``), combining sources (``build``). Readers import nothing from the other sub-packages.
"""

from data_sources.read.harm import read_mps_harm_mapping

__all__ = ["read_mps_harm_mapping"]
