"""Entry point (``streamlit run app.py``): the navigation menu, built from the pages/ folder.

Each ``pages/N_Name.py`` becomes a page titled "Name" at ``/Name``; ``0_Overview`` is the
home page. Building the list from the folder means a new page cannot be left out of the menu.
"""

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).parent / "pages"


def page_for(path: Path) -> st.Page:
    """One menu entry: the number prefix orders the menu, the rest names the page and its URL."""
    name = path.stem.split("_", 1)[1]
    return st.Page(path, title=name.replace("_", " "), url_path=name, default=path.stem.startswith("0_"))


st.set_page_config(page_title="London crime and trust", layout="wide")
st.navigation([page_for(p) for p in sorted(PAGES_DIR.glob("[0-9]_*.py"))]).run()
