"""The public sources turned into the store: read, fetch, build and keep, and ``python -m data_sources``.

Sub-packages by role, each importing only those before it:

- ``read``: one module per published file layout, returning a tidy table, with the shared
  CSV dialect, sniffing and size checks. No network, no store.
- ``store``: the versioned store on disk (atomic versions, snapshot, seed) and what is kept
  in it (ingested months, releases, users' uploads).
- ``build``: the build from raw files and kept inputs to a new store version, and the
  currency table that says how current each source is.
- ``fetch``: talking to publishers (HTTP, cache, rate limit, police.uk and London Datastore
  clients) and bringing the store up to date (refresh, update).

Top level: ``settings`` (paths and limits), ``schemas`` (the tidy tables), ``coverage`` (the
one rule for months missing from any source), ``counts`` and ``cli`` (the command line).
Nothing here imports ``analysis`` or ``ui``.
"""
