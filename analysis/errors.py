"""The analysis layer's one error: a query the data cannot answer, named for the user."""

from __future__ import annotations

from data_sources.errors import CrimeTrustError


class AnalysisInputError(CrimeTrustError, ValueError):
    """A crime type, month, measure or setting that the loaded data does not have.

    The message names the bad value and the allowed ones, so the CLI prints it as one line
    and a page shows it with ``st.error`` as it is.
    """
