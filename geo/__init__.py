"""London ward and borough geometry, and placing points in wards."""
