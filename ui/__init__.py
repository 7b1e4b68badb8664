"""The Streamlit side of the dashboard: caching, URL state, maps and styling.

Only this package imports ``streamlit``; ``data_sources``, ``geo`` and ``analysis`` stay
pure so that they can be tested and used from the command line without a UI.
"""
