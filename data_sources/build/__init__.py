"""The build: raw files and kept inputs in, one new store version out, with its currency table.

Belongs here: running the build (``build``), one step per source (``steps``), the inputs
every step shares (``inputs``: geography, placed street files, row accounts), merging the
trust sources (``trust_merge``), how current each source is (``currency``) and frame helpers
(``_frames``). Does not belong here: parsing a file (``read``), the on-disk format
(``store``), the network (``fetch``).
"""

from data_sources.build.build import build_store
from data_sources.build.currency import currency_line, currency_rows, gap_months, month_words

__all__ = ["build_store", "currency_line", "currency_rows", "gap_months", "month_words"]
