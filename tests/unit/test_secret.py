"""Secret: a token or password that hides its value everywhere but :meth:`Secret.reveal`."""

from __future__ import annotations

import logging
import pickle
import traceback

import pytest

from brainstem_pandas import auth
from brainstem_pandas.transport import Secret, Transport, ambiguity, check_secure, origin

VALUE = "bst_pat_0123456789abcdefghij"


def test_a_secret_hides_its_value_in_repr_str_format_and_logs(caplog):
    s = Secret(VALUE)
    logging.getLogger("brainstem_pandas").warning("token %s %r", s, s)
    for text in (repr(s), str(s), f"{s}", f"{s!r}", "%s" % s, repr([s]), repr({"t": s}), caplog.text):
        assert VALUE not in text and VALUE[8:20] not in text
    assert s.reveal() == VALUE and Secret(s).reveal() == VALUE and Secret.of(s) is s and Secret.of(None) is None


def test_a_secret_compares_by_value_and_is_never_pickled():
    assert Secret(VALUE) == Secret(VALUE) and Secret(VALUE) != Secret(VALUE + "x") and bool(Secret("")) is False
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(Secret(VALUE))


def test_credentials_hold_secrets_and_a_locals_traceback_shows_none():
    pair = auth.TokenPair(VALUE, VALUE + "r", 0.0, "https://x.example/r/")
    pair.refresh = VALUE + "later"  # assigned later: still held as a Secret
    assert isinstance(pair.access, Secret) and isinstance(pair.refresh, Secret)
    token = auth.StaticToken(VALUE)

    def fails(credentials):
        raise ValueError("boom")

    try:
        fails(token)
    except ValueError as exc:
        text = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    assert "StaticToken(***)" in text and VALUE not in text
    assert VALUE not in repr(pair) and token.header().reveal() == f"Bearer {VALUE}"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://other.example\\@127.0.0.1/", "backslash"),
        ("http://me:pw@127.0.0.1/", "user information"),
        ("http://127.0.0.1 /x", "space"),
        ("http://127.0.0.1/\x00", "control"),
        ("http://@127.0.0.1/", "user information"),
    ],
)
def test_ambiguous_urls_are_named_and_never_same_origin(url, why):
    assert why in (ambiguity(url) or "")
    assert not Transport("http://127.0.0.1/").same_origin(url)


def test_origins_are_where_urllib3_connects():
    assert origin("http://OTHER\\@127.0.0.1:8000/x")[1] == "other"  # not 127.0.0.1, which urlsplit sees
    with pytest.raises(Exception, match="backslash"):
        check_secure("http://127.0.0.1\\@example.org/")
