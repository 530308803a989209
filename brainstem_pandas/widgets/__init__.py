"""Notebook widgets (ipywidgets 8): sign in, build and load a query, export.

>>> from brainstem_pandas.widgets import Explorer
>>> explorer = Explorer()   # in a notebook, show it: sign in, pick a model, filter, load, export

Every callback shows its errors in the widget itself; ``wait()`` methods let code
without a kernel (tests, scripts) wait for work the widgets do in the background.
Needs the ``widgets`` extra: ``pip install 'brainstem_pandas[widgets]'``.
"""

from brainstem_pandas.widgets.explorer import Explorer
from brainstem_pandas.widgets.login import LoginForm
from brainstem_pandas.widgets.query import QueryBuilder

__all__ = ["Explorer", "LoginForm", "QueryBuilder"]
