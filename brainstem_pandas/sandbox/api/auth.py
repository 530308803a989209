"""Authentication of the sandbox: bearer tokens, password logins, the device flow.

Token kinds (see reference/seeds/brainstem_api_overview.md and api.md):

- personal access tokens (PAT): one year, sliding (each use extends them), sent as
  ``Authorization: Bearer <token>`` (docs/api.md);
- the device flow, the documented way to get one from a script: ``POST /api/auth/device/``
  opens a session, the user approves it at ``/account/authorize/?session=...``, the
  client polls ``POST /api/auth/device/token/`` with ``{"device_code": ...}`` (every
  answer HTTP 200; ``authorization_pending``, ``success`` with the token,
  ``access_denied``, ``expired_token`` after 15 minutes, ``already_used``).

Legacy, removed from the docs on 2026-03-30 and kept for clients of servers that
still offer them:

- access tokens: ``access_ttl`` seconds (1 h), from ``/api/auth/token/``;
- refresh tokens: ``refresh_ttl`` seconds (30 d); using one at
  ``/api/auth/token/refresh/`` revokes it and issues a new pair (rotation);
- ``/api/token/`` trades email + password for a PAT.

Only SHA-256 digests of tokens are stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password, make_password
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework import authentication, exceptions
from rest_framework.decorators import api_view, authentication_classes
from rest_framework.request import Request
from rest_framework.response import Response

from brainstem_pandas.sandbox.api.models import MODELS, DeviceSession, Token

PAT_LIFETIME = timedelta(days=365)
# A sliding token is re-dated at most this often, so reads do not turn into writes.
SLIDE_GRANULARITY = timedelta(hours=1)
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


class FastPBKDF2Hasher(PBKDF2PasswordHasher):
    """PBKDF2 with few iterations: sandbox passwords are demo passwords."""

    iterations = 1000


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: Any, kind: str, *, lifetime: timedelta, name: str = "", family: str = "") -> tuple[str, Token]:
    """Create a token of ``kind`` for ``user``; return the secret and its row."""
    secret = f"bst_{kind}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    row = Token.objects.create(
        digest=digest(secret),
        kind=kind,
        name=name,
        user=user,
        created=now,
        expires=now + lifetime,
        family=family,
    )
    return secret, row


def issue_pat(user: Any, name: str = "sandbox") -> tuple[str, Token]:
    """Create a personal access token (one year, sliding)."""
    return issue(user, Token.PAT, lifetime=PAT_LIFETIME, name=name)


def find_user(email: str, password: str) -> Any | None:
    """The user with this email and password, or None."""
    user = MODELS["user"].objects.filter(email__iexact=(email or "").strip()).first()
    if user is None or not password or not check_password(password, user.password):
        return None
    return user


def create_user(email: str, password: str, *, first_name: str = "", last_name: str = "", reviewer: bool = False) -> Any:
    """Create a sandbox user with a hashed password.

    Raises
    ------
    ValueError
        If a user with this email exists, in any letter case.
    """
    # Sign-in matches emails case-insensitively, so a second account differing
    # only in case could never sign in with its own password.
    if MODELS["user"].objects.filter(email__iexact=email).exists():
        raise ValueError(f"a user with email {email!r} already exists")
    return MODELS["user"].objects.create(
        email=email,
        first_name=first_name,
        last_name=last_name,
        password=make_password(password),
        is_reviewer=reviewer,
    )


class BearerAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>`` for PATs and access tokens."""

    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header; send 'Authorization: Bearer <token>'."
            )
        row = Token.objects.select_related("user").filter(digest=digest(secret.strip())).first()
        now = timezone.now()
        if row is None or row.revoked or row.kind == Token.REFRESH:
            raise exceptions.AuthenticationFailed("Invalid token; create a new one or sign in again.")
        if row.expires <= now:
            raise exceptions.AuthenticationFailed("Token expired; refresh it or sign in again.")
        if row.kind == Token.PAT and row.expires - now < PAT_LIFETIME - SLIDE_GRANULARITY:
            Token.objects.filter(pk=row.pk).update(expires=now + PAT_LIFETIME)
        return row.user, row

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or bad.
        return 'Bearer realm="api"'


class CredentialsChallenge(authentication.BaseAuthentication):
    """Authenticates nobody; only names the scheme of the sign-in endpoints.

    DRF turns a failed sign-in into 403 when a view has no authenticator with a
    ``WWW-Authenticate`` challenge; BrainSTEM (simplejwt) answers 401. A bearer
    header is ignored here, so a client holding a stale token can still refresh.
    """

    def authenticate(self, request: Request) -> None:
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def _credentials(request: Request, *names: str) -> tuple[str, str]:
    data = request.data if isinstance(request.data, dict) else {}
    email = next((data.get(n) for n in names if data.get(n)), "")
    return str(email), str(data.get("password") or "")


@api_view(["POST"])
@authentication_classes([CredentialsChallenge])
def token_pair(request: Request) -> Response:
    """``POST /api/auth/token/``: email + password -> access and refresh tokens."""
    email, password = _credentials(request, "email", "username")
    user = find_user(email, password)
    if user is None:
        raise exceptions.AuthenticationFailed("No active account found with the given credentials.")
    return Response(_pair(user))


def _pair(user: Any) -> dict[str, Any]:
    cfg = settings.CONFIG
    family = secrets.token_hex(16)
    access, _ = issue(user, Token.ACCESS, lifetime=timedelta(seconds=cfg.access_ttl), family=family)
    refresh, _ = issue(user, Token.REFRESH, lifetime=timedelta(seconds=cfg.refresh_ttl), family=family)
    return {"access": access, "refresh": refresh, "token_type": "bearer", "expires_in": cfg.access_ttl}


@api_view(["POST"])
@authentication_classes([CredentialsChallenge])
def token_refresh(request: Request) -> Response:
    """``POST /api/auth/token/refresh/``: rotate a refresh token into a new pair."""
    data = request.data if isinstance(request.data, dict) else {}
    secret = str(data.get("refresh") or "")
    if not secret:
        raise exceptions.ValidationError({"refresh": ["This field is required."]})
    with transaction.atomic():
        row = Token.objects.select_related("user").filter(digest=digest(secret), kind=Token.REFRESH).first()
        if row is None or row.revoked or row.expires <= timezone.now():
            raise exceptions.AuthenticationFailed("Refresh token is invalid, expired or already used.")
        # Rotation: the used refresh token dies with this answer.
        updated = Token.objects.filter(pk=row.pk, revoked=False).update(revoked=True)
        if not updated:
            raise exceptions.AuthenticationFailed("Refresh token is invalid, expired or already used.")
        return Response(_pair(row.user))


@api_view(["POST"])
@authentication_classes([CredentialsChallenge])
def legacy_token(request: Request) -> Response:
    """``POST /api/token/``: username (email) + password -> a PAT."""
    email, password = _credentials(request, "username", "email")
    user = find_user(email, password)
    if user is None:
        raise exceptions.AuthenticationFailed("No active account found with the given credentials.")
    secret, row = issue_pat(user, name="api/token")
    return Response({"access": secret, "token_id": row.pk, "message": "Token created successfully"})


def _user_code() -> str:
    pick = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{pick[:4]}-{pick[4:]}"


@api_view(["POST"])
def device_start(request: Request) -> Response:
    """``POST /api/auth/device/``: open a device authorization session."""
    cfg = settings.CONFIG
    data = request.data if isinstance(request.data, dict) else {}
    now = timezone.now()
    session = DeviceSession.objects.create(
        session_id=secrets.token_urlsafe(16),
        device_code=secrets.token_urlsafe(32),
        user_code=_user_code(),
        client_name=str(data.get("client_name") or "")[:100],
        created=now,
        expires=now + timedelta(seconds=cfg.device_ttl),
    )
    base = request.build_absolute_uri("/account/authorize/")
    if cfg.device_start == "minimal":
        # The least a server may answer: the link carries the session, no user code, no interval.
        return Response(
            {
                "device_code": session.device_code,
                "verification_uri_complete": f"{base}?session={session.session_id}",
                "expires_in": cfg.device_ttl,
            }
        )
    return Response(
        {
            "session_id": session.session_id,
            "device_code": session.device_code,
            "user_code": session.user_code,
            "verification_uri": base,
            "verification_uri_complete": f"{base}?session={session.session_id}",
            "interval": cfg.device_interval,
            "expires_in": cfg.device_ttl,
        }
    )


@api_view(["POST"])
def device_poll(request: Request) -> Response:
    """``POST /api/auth/device/token/``: always 200; the body tells the state."""
    data = request.data if isinstance(request.data, dict) else {}
    code = str(data.get("device_code") or "")
    with transaction.atomic():
        session = DeviceSession.objects.filter(device_code=code).first()
        if session is None:
            return Response({"error": "invalid_device_code"})
        if session.status == DeviceSession.USED:
            return Response({"error": "already_used"})
        if session.status == DeviceSession.DENIED:
            return Response({"error": "access_denied"})
        if session.expires <= timezone.now():
            return Response({"error": "expired_token"})
        if session.status == DeviceSession.PENDING:
            return Response({"status": "authorization_pending"})
        claimed = DeviceSession.objects.filter(pk=session.pk, status=DeviceSession.APPROVED).update(
            status=DeviceSession.USED
        )
        if not claimed:
            return Response({"error": "already_used"})
        secret, _ = issue_pat(session.user, name=session.client_name or "device")
        return Response({"status": "success", "token": secret})


def normalize_user_code(value: str) -> str:
    """A typed user code in its stored form: ``"wxyz bcdf"`` -> ``"WXYZ-BCDF"``.

    People retype codes with spaces, without the dash or in lower case (RFC 8628,
    section 6.1, asks servers to accept that).
    """
    letters = "".join(ch for ch in (value or "").upper() if ch.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else (value or "").strip().upper()


def _find_session(value: str) -> DeviceSession | None:
    value = (value or "").strip()
    if not value:
        return None
    return (
        DeviceSession.objects.filter(session_id=value).first()
        or DeviceSession.objects.filter(user_code=normalize_user_code(value)).first()
    )


@csrf_exempt
def authorize_page(request: HttpRequest) -> HttpResponse:
    """``/account/authorize/``: the browser page where a user approves a device.

    GET shows the code and a sign-in form; POST with email, password and
    ``decision`` (approve or deny) settles the session.
    """
    key = request.POST.get("session") or request.GET.get("session") or request.POST.get("user_code", "")
    session = _find_session(key)
    context: dict[str, Any] = {"session": session, "key": key, "message": "", "done": False}
    if request.method == "POST":
        status = 200
        user = find_user(request.POST.get("email", ""), request.POST.get("password", ""))
        if session is None:
            context["message"], status = "Unknown or mistyped code.", 404
        elif session.status != DeviceSession.PENDING or session.expires <= timezone.now():
            context["message"], status = "This sign-in request is no longer pending.", 410
        elif user is None:
            context["message"], status = "Wrong email or password.", 401
        else:
            approve = request.POST.get("decision", "approve") == "approve"
            session.status = DeviceSession.APPROVED if approve else DeviceSession.DENIED
            session.user = user
            session.save(update_fields=["status", "user"])
            context["done"] = True
            context["message"] = "Device approved. You can close this page." if approve else "Request denied."
        return render(request, "authorize.html", context, status=status)
    return render(request, "authorize.html", context)
