"""A secret (token, password) that does not show itself: not in a repr, a message, a log or a traceback.

A :class:`Secret` is what library frames hold, so that a locals-showing traceback
(IPython's ``%xmode Verbose``, ``traceback.TracebackException(capture_locals=True)``)
prints ``Secret('***')``. Its value comes out only through :meth:`Secret.reveal`,
called where it is sent or saved.
"""

from __future__ import annotations

import hmac
from typing import Any, overload


class Secret:
    """A string that hides its value.

    Examples
    --------
    >>> s = Secret("bst_abc123")
    >>> s, str(s), f"{s}"
    (Secret('***'), "Secret('***')", "Secret('***')")
    >>> s.reveal()
    'bst_abc123'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        self._value = value.reveal() if isinstance(value, Secret) else str(value)

    @overload
    @staticmethod
    def of(value: None) -> None: ...
    @overload
    @staticmethod
    def of(value: str | Secret) -> Secret: ...
    @staticmethod
    def of(value: str | Secret | None) -> Secret | None:
        """``value`` as a Secret (None stays None; a Secret is kept)."""
        if value is None or isinstance(value, Secret):
            return value
        return Secret(value)

    def reveal(self) -> str:
        """The value itself: only where it is sent or saved."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled (it would be written out in the clear)")


def reveal(value: str | Secret | None) -> str | None:
    """The plain value of ``value`` (a Secret or a string)."""
    return value.reveal() if isinstance(value, Secret) else value
