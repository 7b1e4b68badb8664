"""Readers for the public sources, the store, and the ``python -m data_sources`` command."""
