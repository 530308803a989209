"""Token authentication and permissions of the brainmaps API.

Clients send ``Authorization: Token <key>``; ``Bearer <key>`` is accepted as
well because that is what most generic HTTP clients send for a token.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from brainstem_pandas.sandbox.brainmaps.models import AuthToken, Brain, User

SCHEMES = ("token", "bearer")


def parse_authorization(header: bytes) -> str | None:
    """Extract the token key from an ``Authorization`` header.

    Parameters
    ----------
    header : bytes
        Raw header value, possibly empty.

    Returns
    -------
    str or None
        The key, or None when the header uses another scheme (or is absent),
        so that other authentication methods may still apply.

    Raises
    ------
    rest_framework.exceptions.AuthenticationFailed
        If the header names a token scheme but is malformed.

    Examples
    --------
    >>> parse_authorization(b"Bearer abc123")
    'abc123'
    >>> parse_authorization(b"Basic dXNlcjpwdw==") is None
    True
    """
    parts = header.split()
    if not parts or parts[0].lower().decode("latin-1") not in SCHEMES:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Token <key>' or 'Bearer <key>'.")
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed(
            "Invalid Authorization header: the token contains invalid characters."
        ) from None


class TokenAuthentication(BaseAuthentication):
    """Authenticate requests by a login token from :class:`AuthToken`."""

    def authenticate(self, request: Request) -> tuple[User, AuthToken] | None:
        """Return ``(user, token)``, or None for requests without a token."""
        key = parse_authorization(get_authorization_header(request))
        if key is None:
            return None
        token = AuthToken.objects.select_related("user").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Without a WWW-Authenticate value DRF turns 401 into 403.
        return 'Token realm="brainmaps"'


def is_preflight(request: Request) -> bool:
    """Return whether `request` is a CORS preflight, which never carries credentials."""
    return request.method == "OPTIONS"


class ReadAnyoneWriteAuthenticated(permissions.BasePermission):
    """Anyone may read; writing needs a logged-in user."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.user is not None


class AuthenticatedOrPreflight(permissions.BasePermission):
    """Only logged-in users, except for CORS preflight requests."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_preflight(request) or request.user is not None


class UploaderOrReadOnly(permissions.BasePermission):
    """Only the uploader of a brain may change or delete it."""

    message = "Only the uploader of a brain may change or delete it."

    def has_object_permission(self, request: Request, view: Any, obj: Brain) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.user is not None and obj.uploader_id == request.user.pk
