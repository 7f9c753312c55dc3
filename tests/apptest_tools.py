"""What the AppTest suites share: opening the app or a page, reading its graph and plots.

Plotly writes arrays in its JSON as ``{"dtype", "bdata"}`` (base64), so plot data is read
back through :func:`plotly_array`. Streamlit's caches outlive an AppTest instance within
one pytest process; the ``fresh_caches`` fixture (conftest.py) clears them per test.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"


def start(query: dict[str, str | list[str]] | None = None) -> AppTest:
    """The app as a browser opening ``/?query`` would get it (the Playground)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def open_page(page: str) -> AppTest:
    """The app switched to ``app_pages/<page>.py``, checked to have run cleanly."""
    at = start()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def open_menu(at: AppTest, key: str) -> AppTest:
    """Open a popover menu that is filled only while it is open (the Playground's Export
    and Share), as a click on its button does."""
    at.session_state[key] = True
    return at.run()


def dot(at: AppTest, index: int = 0) -> str:
    """The DOT source of the page's ``index``-th graph."""
    return at.get("graphviz_chart")[index].proto.spec


def plotly_array(data: object) -> np.ndarray:
    """A plotly array from the figure JSON: a list, or the base64 ``bdata`` form."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data, dtype=float)


def table(at: AppTest, index: int = 0) -> pd.DataFrame:
    """The page's ``index``-th table (``st.table``) as the text a learner reads: the page
    escapes Markdown in every cell and header, this takes the escapes off again."""
    def unescape(text: object) -> str:
        return re.sub(r"\\(.)", r"\1", str(text))

    return at.table[index].value.map(unescape).rename(columns=unescape)


def numbers(column: pd.Series) -> list[float]:
    """A table column of shown numbers as floats ("None", a missing .grad, is NaN)."""
    return [float("nan") if text == "None" else float(text) for text in column]
