"""London's fixed codes and the two coordinate systems, owned by geometry so no layer reaches upward for them."""

from __future__ import annotations

#: British National Grid: areas, distances and spatial joins.
CRS_AREAS = "EPSG:27700"
#: WGS84 longitude/latitude: display and the police.uk API.
CRS_DISPLAY = "EPSG:4326"

#: ONS code used for London as a whole (the region), so London rows share the area schema.
LONDON_CODE = "E12000007"
#: The City of London is its own police force and is one area at ward level here.
CITY_OF_LONDON_CODE = "E09000001"
