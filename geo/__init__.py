"""London ward and borough geometry, placing points in wards, and London's fixed codes and CRSs (``london``).

Imports only ``core`` from the project: geometry owns its constants, so no layer above is
reached for them.
"""
