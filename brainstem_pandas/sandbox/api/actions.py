"""The documented actions: invitations, requests, group join/leave, approvals, log entries.

Each handler takes the viewset, the record and the request, checks who may act,
changes the data and answers 200 with a short ``detail`` (or the updated record).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from django.db import transaction
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from brainstem_pandas import catalog
from brainstem_pandas.sandbox.api.models import MODELS

Handler = Callable[[Any, Any, Request], Response]


def parse_when(value: Any) -> datetime | None:
    """An ISO 8601 date-time from a payload, or None.

    Examples
    --------
    >>> parse_when("2024-05-01T10:00:00Z")
    datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.timezone.utc)
    >>> parse_when("yesterday") is None, parse_when(None) is None
    (True, True)
    """
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _ok(detail: str) -> Response:
    return Response({"detail": detail})


def _deny(why: str) -> None:
    raise exceptions.PermissionDenied(why)


def _add_member(holder: Any, field: str, key: str, role: dict[str, bool]) -> None:
    members = dict(getattr(holder, field) or {})
    members[key] = role
    setattr(holder, field, members)
    holder.save(update_fields=[field])


def _project_invitation(view: Any, name: str, inv: Any, request: Request) -> Response:
    access = view.access
    group_invite = view.catalog_name == "project_group_membership_invitation"
    is_invitee = (inv.invitee_id in access.groups) if group_invite else inv.invitee_id == access.user.pk
    if name in ("accept", "reject") and not is_invitee:
        _deny(f"Only the invited {'group' if group_invite else 'user'} can {name} this invitation.")
    if name == "cancel" and inv.project_id not in access.managed:
        _deny("Only project managers can cancel an invitation.")
    with transaction.atomic():
        if name == "accept":
            role = {
                "can_change": inv.can_change or inv.manage_project or inv.own_project,
                "is_manager": inv.manage_project or inv.own_project,
                "is_owner": inv.own_project,
            }
            if group_invite:
                _add_member(inv.project, "groups", inv.invitee.name, role)
            else:
                _add_member(inv.project, "users", inv.invitee.email, role)
        inv.delete()
    return _ok(f"Invitation {name}ed." if name != "cancel" else "Invitation cancelled.")


def _group_invitation(view: Any, name: str, inv: Any, request: Request) -> Response:
    access = view.access
    if name in ("accept", "reject") and inv.user_account_invitation_id != access.user.pk:
        _deny(f"Only the invited user can {name} this invitation.")
    if name == "cancel" and inv.authgroup_id not in access.managed_groups:
        _deny("Only group managers can cancel an invitation.")
    with transaction.atomic():
        if name == "accept":
            _add_member(
                inv.authgroup,
                "users",
                inv.user_account_invitation.email,
                {"is_manager": inv.new_manager or inv.new_owner, "is_owner": inv.new_owner},
            )
        inv.delete()
    return _ok(f"Invitation {name}ed." if name != "cancel" else "Invitation cancelled.")


def _group_request(view: Any, name: str, req: Any, request: Request) -> Response:
    access = view.access
    if name in ("accept", "reject") and req.authgroup_id not in access.managed_groups:
        _deny(f"Only group managers can {name} a membership request.")
    if name == "cancel" and req.user_account_request_id != access.user.pk:
        _deny("Only the requesting user can cancel a membership request.")
    with transaction.atomic():
        if name == "accept":
            _add_member(
                req.authgroup, "users", req.user_account_request.email, {"is_manager": False, "is_owner": False}
            )
        req.delete()
    return _ok(f"Request {name}ed." if name != "cancel" else "Request cancelled.")


def _group(view: Any, name: str, group: Any, request: Request) -> Response:
    email = view.access.user.email
    members = dict(group.users or {})
    if name == "join":
        if email in members:
            raise exceptions.ValidationError({"non_field_errors": ["You are already a member."]})
        MODELS["group_membership_request"].objects.get_or_create(
            user_account_request=view.access.user, authgroup=group, defaults={"created_by": view.access.user}
        )
        return _ok("Membership requested; a group manager must accept it.")
    if email not in members:
        raise exceptions.ValidationError({"non_field_errors": ["You are not a member of this group."]})
    members.pop(email)
    group.users = members
    group.save(update_fields=["users"])
    return _ok("You left the group.")


def _approval(view: Any, name: str, approval: Any, request: Request) -> Response:
    if not view.access.reviewer:
        _deny("Only BrainSTEM reviewers can accept or reject approvals.")
    if approval.status != "pending":
        raise exceptions.ValidationError({"status": [f"This approval is already {approval.status}."]})
    spec = catalog.model(view.catalog_name)
    target_name = next(m.name for m in catalog.all_models().values() if m.approval_model == spec.name)
    target = MODELS[target_name]
    with transaction.atomic():
        if name == "accept":
            fields = [
                f
                for f in spec.fields
                if not f.read_only and f.name != "id" and f.name in catalog.model(target_name).field_names
            ]
            plain = {f.name: getattr(approval, f.name) for f in fields if not f.many}
            if approval.instance_id_id:
                record = target.objects.get(pk=approval.instance_id_id)
                for key, value in plain.items():
                    setattr(record, key, value)
                record.save()
            else:
                record = target.objects.create(**plain, created_by=approval.created_by)
            for f in fields:
                if f.many:
                    getattr(record, f.name).set(getattr(approval, f.name).all())
            approval.instance_id = record
        approval.status = "accepted" if name == "accept" else "rejected"
        approval.reviewer = view.access.user
        approval.save()
    return view.respond(approval, 200)


def _log_entry(view: Any, name: str, log: Any, request: Request) -> Response:
    view.check_write("change", {}, log)
    entry = request.data if isinstance(request.data, dict) else {}
    entries = list(log.entries or [])
    interval = "start_date_time" in entry or "end_date_time" in entry
    keys = ("start_date_time", "end_date_time") if interval else ("date_time",)
    bad = [k for k in keys if parse_when(entry.get(k)) is None]
    if bad:
        raise exceptions.ValidationError({k: ["An ISO 8601 date-time is required."] for k in bad})
    match = [i for i, e in enumerate(entries) if all(e.get(k) == entry.get(k) for k in keys)]
    if name == "add_entry":
        entries.append({k: entry.get(k) for k in (*keys, "notes", "details") if k in entry})
    elif not match:
        raise exceptions.NotFound(f"No entry with {', '.join(f'{k}={entry.get(k)}' for k in keys)}.")
    elif name == "change_entry":
        entries[match[0]] = {**entries[match[0]], **entry}
    else:
        entries.pop(match[0])
    log.entries = entries
    log.save(update_fields=["entries"])
    return view.respond(log, 200)


def run(view: Any, name: str, instance: Any, request: Request) -> Response:
    """Dispatch action ``name`` of ``view``'s model on ``instance``."""
    model = view.catalog_name
    if model in ("project_membership_invitation", "project_group_membership_invitation"):
        return _project_invitation(view, name, instance, request)
    if model == "group_membership_invitation":
        return _group_invitation(view, name, instance, request)
    if model == "group_membership_request":
        return _group_request(view, name, instance, request)
    if model == "group":
        return _group(view, name, instance, request)
    if catalog.model(model).kind == "approval":
        return _approval(view, name, instance, request)
    return _log_entry(view, name, instance, request)
