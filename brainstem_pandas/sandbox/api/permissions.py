"""Who may see and change what, following docs/datamodel/permissions.md.

- Projects list their users and groups with ``can_change`` / ``is_manager`` /
  ``is_owner``; every project component (sessions, subjects, modules, ...) inherits
  the permissions of its projects.
- Personal attributes (setups, data storages, ...) belong to groups; equipment and
  consumable stocks inherit from their setup or inventory.
- The public portal is anonymous and read-only and shows public projects with
  their components, and personal attributes marked public.
- Taxonomies, resources, publications, users, groups and laboratories are shared.
- Invitations, requests and approvals are private to the people they concern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeGuard

from django.db.models import Q, QuerySet

from brainstem_pandas import catalog
from brainstem_pandas.sandbox.api import schema
from brainstem_pandas.sandbox.api.models import MODELS

PUBLIC, PRIVATE = "public", "private"


@dataclass
class Access:
    """What one user may reach, computed once per request.

    Attributes
    ----------
    user : model instance or None
        The authenticated user (None on the public portal).
    portal : str
        ``"public"`` or ``"private"``.
    readable, changeable, managed, owned : set
        Project ids the user may read, change (contributor), manage, own.
    groups, managed_groups, owned_groups : set
        Group ids the user belongs to, those they manage or own, and those they own.
    """

    user: Any  # a user record (a Django model instance), or None
    portal: str
    readable: set[Any] = field(default_factory=set)
    changeable: set[Any] = field(default_factory=set)
    managed: set[Any] = field(default_factory=set)
    owned: set[Any] = field(default_factory=set)
    groups: set[int] = field(default_factory=set)
    managed_groups: set[int] = field(default_factory=set)
    owned_groups: set[int] = field(default_factory=set)

    @property
    def reviewer(self) -> bool:
        """True for users who review taxonomy and resource approvals."""
        return bool(getattr(self.user, "is_reviewer", False))


def _grant(access: Access, pid, role: dict) -> None:
    access.readable.add(pid)
    if role.get("can_change") or role.get("is_manager") or role.get("is_owner"):
        access.changeable.add(pid)
    if role.get("is_manager") or role.get("is_owner"):
        access.managed.add(pid)
    if role.get("is_owner"):
        access.owned.add(pid)


def compute_access(user, portal: str) -> Access:
    """Collect the projects and groups ``user`` reaches on ``portal``.

    Projects and groups are few (tens to hundreds) even when sessions number in
    the hundreds of thousands, so scanning them per request is cheap and keeps the
    record queries to a simple ``IN``.
    """
    access = Access(user=user, portal=portal)
    project_model, group_model = MODELS["project"], MODELS["group"]
    if portal == PUBLIC or user is None:
        access.readable = set(project_model.objects.filter(is_public=True).values_list("pk", flat=True))
        return access
    email = user.email
    group_names = {}
    for gid, name, members in group_model.objects.values_list("pk", "name", "users"):
        role = (members or {}).get(email)
        if role is not None:
            access.groups.add(gid)
            group_names[name] = gid
            if role.get("is_manager") or role.get("is_owner"):
                access.managed_groups.add(gid)
            if role.get("is_owner"):
                access.owned_groups.add(gid)
    for pid, users, groups, is_public in project_model.objects.values_list("pk", "users", "groups", "is_public"):
        if is_public:
            access.readable.add(pid)
        role = (users or {}).get(email)
        if role is not None:
            _grant(access, pid, role)
        for gname, grole in (groups or {}).items():
            if gname in group_names:
                _grant(access, pid, grole)
    return access


def _project_filter(model_name: str, projects: set) -> Q:
    path = schema.PROJECT_PATHS[model_name]
    if not path:
        return Q(pk__in=projects)
    return _path_filter(MODELS[model_name], path, projects)


def _path_filter(model: Any, path: str, projects: set) -> Q:
    # Subqueries on the link tables instead of joins: a record in two visible
    # projects must not appear twice, and DISTINCT over a join is slow in SQLite.
    head, _, rest = path.partition("__")
    field = model._meta.get_field(head)
    if not rest:
        if field.many_to_many:
            through = field.remote_field.through
            own = next(f for f in through._meta.concrete_fields if f.is_relation and f.related_model is model)
            target = next(f for f in through._meta.concrete_fields if f.is_relation and f.related_model is not model)
            ids = through.objects.filter(**{f"{target.attname}__in": projects}).values(own.attname)
            return Q(pk__in=ids)
        return Q(**{f"{field.attname}__in": projects})
    parent = field.related_model
    ids = parent.objects.filter(_path_filter(parent, rest, projects)).values("pk")
    return Q(**{f"{field.attname}__in": ids})


def _attribute_filter(model_name: str, access: Access) -> Q:
    prefix = schema.ATTRIBUTE_PATHS[model_name]
    public = Q(**{f"{prefix}is_public": True})
    if access.portal == PUBLIC or access.user is None:
        return public
    model = MODELS[model_name]
    inner = model.objects.filter(**{f"{prefix}auth_groups__in": access.groups}).values("pk")
    return public | Q(pk__in=inner)


def _personal_filter(model_name: str, access: Access) -> Q:
    uid = getattr(access.user, "pk", None)
    if model_name == "project_membership_invitation":
        return Q(invitee=uid) | Q(project__in=access.managed)
    if model_name == "project_group_membership_invitation":
        return Q(invitee__in=access.groups) | Q(project__in=access.managed)
    if model_name == "group_membership_invitation":
        return Q(user_account_invitation=uid) | Q(authgroup__in=access.managed_groups)
    if model_name == "group_membership_request":
        return Q(user_account_request=uid) | Q(authgroup__in=access.managed_groups)
    # Approvals: the submitter sees theirs, reviewers see all.
    return Q() if access.reviewer else Q(created_by=uid)


def is_personal(model_name: str) -> bool:
    """True for invitation, request and approval models (private to their people)."""
    m = catalog.model(model_name)
    return m.kind == "approval" or "public" not in m.portals.get("list", ())


def visible(model_name: str, queryset: QuerySet, access: Access) -> QuerySet:
    """Restrict ``queryset`` to the records ``access`` may read.

    Examples
    --------
    ``visible("session", Session.objects.all(), access)`` keeps the sessions of
    the projects in ``access.readable``.
    """
    if is_personal(model_name):
        if access.user is None:
            return queryset.none()
        return queryset.filter(_personal_filter(model_name, access))
    kind = schema.scope(model_name)
    if kind == "project":
        return queryset.filter(_project_filter(model_name, access.readable))
    if kind == "attribute":
        return queryset.filter(_attribute_filter(model_name, access))
    return queryset


def related_projects(model_name: str, data: dict, instance=None) -> set:
    """Project ids a write touches: given in the payload or held by the record.

    For a new session that is its ``projects``; for a behavior, the projects of its
    session; and so on up :data:`schema.PROJECT_PATHS`.
    """
    path = schema.PROJECT_PATHS[model_name]
    if not path:
        return {instance.pk} if instance is not None else set()
    head, _, rest = path.partition("__")
    value = data.get(head) if head in data else (getattr(instance, head) if instance else None)
    if value is None:
        return set()
    if hasattr(value, "all"):
        value = list(value.all())
    items = value if isinstance(value, (list, tuple)) else [value]
    out: set = set()
    for item in items:
        if not rest:
            out.add(item.pk)
        else:
            target = MODELS[model_name]._meta.get_field(head).related_model
            target_name = next(n for n, cls in MODELS.items() if cls is target)
            out |= related_projects(target_name, {}, item)
    return out


def attribute_groups(model_name: str, data: dict, instance=None) -> set:
    """Group ids owning the personal attribute a write touches."""
    prefix = schema.ATTRIBUTE_PATHS[model_name]
    if not prefix:
        if instance is None:
            return set()
        return set(instance.auth_groups.values_list("pk", flat=True))
    head = prefix.rstrip("_")
    parent = data.get(head) or (getattr(instance, head) if instance else None)
    if parent is None:
        return set()
    return set(parent.auth_groups.values_list("pk", flat=True))


MEMBER_FIELDS = ("users", "groups")


def _same(value: Any, current: Any) -> bool:
    """True when a payload value equals what the record holds (to-many links by id)."""
    if hasattr(current, "all"):
        return {getattr(v, "pk", v) for v in value or ()} == set(current.values_list("pk", flat=True))
    return value == current


def _changed_details(data: dict, instance) -> list[str]:
    """Names of the non-member fields a write would really change.

    A PUT resends every field: only values that differ from the record count.
    """
    return sorted(
        name
        for name, value in data.items()
        if name not in MEMBER_FIELDS and not _same(value, getattr(instance, name, None))
    )


def _is_manager_role(role: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(role, dict) and bool(role.get("is_manager") or role.get("is_owner"))


def _touches_managers(data: dict, instance) -> bool:
    """True when a ``users``/``groups`` payload grants, alters or removes a manager or owner role."""
    for name in MEMBER_FIELDS:
        given = data.get(name)
        if not isinstance(given, dict):
            continue
        current = getattr(instance, name) or {}
        for member, role in given.items():
            role = role if isinstance(role, dict) else {}  # as the merge reads it: all roles false
            if role.get("remove"):
                if _is_manager_role(current.get(member)):
                    return True
                continue
            if _is_manager_role(role):
                return True
            # Missing roles default to false: resending a manager without them demotes.
            before = current.get(member)
            if _is_manager_role(before) and any(bool(role.get(k)) != bool(v) for k, v in before.items()):
                return True
    return False


def _project_change(access: Access, data: dict, instance) -> str | None:
    """Why a project change is refused (datamodel/permissions.md).

    Managers add and remove members and groups; only owners edit the project's
    details, make it public and add or remove managers and owners.
    """
    if instance.pk not in access.managed:
        return "Only project managers and owners can change a project."
    if instance.pk in access.owned:
        return None
    changed = _changed_details(data, instance)
    if "is_public" in changed:
        return "Only project owners can make a project public or private."
    if changed:
        return (
            f"Only project owners can change project details ({', '.join(changed)}); "
            "managers may add and remove members and groups."
        )
    if _touches_managers(data, instance):
        return "Only project owners can add or remove managers and owners."
    return None


# Links that must stay inside the record's project (api/stem/cohort.md, breeding.md:
# "must already belong to the same project"; datamodel/stem/collection.md, cohort.md).
SAME_PROJECT = {"cohort": ("subjects",), "collection": ("sessions",), "breeding": ("mother", "father")}


def outside_project(model_name: str, data: dict, instance: Any = None) -> dict[str, list[str]]:
    """Per field, why the linked records are refused: they are not in the record's project.

    Examples
    --------
    ``outside_project("cohort", {"project": p, "subjects": [s]})`` is ``{}`` when ``s``
    belongs to ``p`` and names ``subjects`` otherwise (a 400 answer).
    """
    project: Any = data.get("project") or getattr(instance, "project", None)
    errors: dict[str, list[str]] = {}
    for name in SAME_PROJECT.get(model_name, ()) if project is not None else ():
        if name not in data and "project" not in data:
            continue  # neither the links nor the project change
        value: Any = data[name] if name in data else getattr(instance, name, None)
        items: list[Any] = list(value.all()) if hasattr(value, "all") else value if isinstance(value, list) else [value]
        foreign = sorted(str(i.pk) for i in items if i is not None and not i.projects.filter(pk=project.pk).exists())
        if foreign:
            errors[name] = [f"must belong to the {model_name}'s project {project.pk}; not in it: {', '.join(foreign)}"]
    return errors


def _storages_denied(access: Access, storages: list) -> str | None:
    """Sessions may only point at data storages of the writer's groups (change_datastorage)."""
    denied = [str(ds.pk) for ds in storages if not set(ds.auth_groups.values_list("pk", flat=True)) & access.groups]
    if denied:
        return (
            "You need change permission on every data storage of the session; "
            f"not a member of a group owning: {', '.join(sorted(denied))}."
        )
    return None


def can_write(model_name: str, action: str, access: Access, data: dict, instance: Any = None) -> str | None:
    """Return why ``access`` may not do ``action`` (add/change/delete), or None if it may.

    The returned text becomes the ``detail`` of a 403 answer.
    """
    if model_name == "project":
        return _project_write(action, access, data, instance)
    kind = schema.scope(model_name)
    if kind == "project":
        return _component_write(model_name, access, data, instance)
    if kind == "attribute":
        return _attribute_write(model_name, action, access, data, instance)
    if model_name in ("user", "group", "laboratory"):
        return _account_write(model_name, action, access, data, instance)
    return _shared_write(model_name, action, access, instance)


def _project_write(action: str, access: Access, data: dict, instance: Any) -> str | None:
    """Anyone may create a project (and owns it); owners delete it; see :func:`_project_change`."""
    if action == "delete" and instance.pk not in access.owned:
        return "Only project owners can delete a project."
    if action == "change":
        return _project_change(access, data, instance)
    return None


def _component_write(model_name: str, access: Access, data: dict, instance: Any) -> str | None:
    """A project component needs change permission on every project it belongs to, before and after."""
    projects = related_projects(model_name, data, instance)
    if instance is not None:
        projects |= related_projects(model_name, {}, instance)
    denied = projects - access.changeable
    if denied:
        return (
            "You need change permission (contributor or higher) on every project "
            f"this {model_name} belongs to; missing: {', '.join(sorted(map(str, denied)))}."
        )
    return _storages_denied(access, data.get("datastorage") or [])


def _attribute_write(model_name: str, action: str, access: Access, data: dict, instance: Any) -> str | None:
    """A personal attribute is written by members of a group owning it; changed or deleted by its managers."""
    owned_directly = not schema.ATTRIBUTE_PATHS[model_name]  # not equipment or stock, which follow a parent
    if action == "add" and owned_directly:
        return None if access.groups else "You must belong to a group to create personal attributes."
    groups = attribute_groups(model_name, data, instance)
    if not groups & access.groups:
        return f"You are not a member of a group that owns this {model_name.replace('stock', ' stock')}."
    if action != "add" and owned_directly and not groups & access.managed_groups:
        return "Only managers and owners of the owning group can change or delete it."
    if action == "change" and owned_directly and "is_public" in _changed_details(data, instance):
        # datamodel/personal_attributes/*.md: "Only owners can modify this setting."
        if not groups & access.owned_groups:
            return f"Only owners of the owning group can make a {model_name} public or private."
    return None


def _account_write(model_name: str, action: str, access: Access, data: dict, instance: Any) -> str | None:
    """Users change themselves; groups and laboratories follow the group roles (datamodel/permissions.md)."""
    user = access.user
    if model_name == "user":
        # api/users/user.md: "only administrators can remove Users"; the sandbox's
        # administrators are its reviewers.
        if action == "delete" and not access.reviewer:
            return "Only BrainSTEM administrators can delete users."
        if instance is not None and instance.pk != user.pk and not access.reviewer:
            return "You can only change or delete your own user account."
        return None
    if model_name == "group":
        return _group_write(action, access, data, instance)
    return _laboratory_write(action, access, data, instance)


def _group_write(action: str, access: Access, data: dict, instance: Any) -> str | None:
    """Owners manage the group's details and its managers; managers add and remove members.

    datamodel/permissions.md, Group Permissions: owners "manage group details and
    settings", "add/remove managers" and "rename group"; managers "add/remove
    regular members". Deleting is a setting of the group: owners only.
    """
    if action == "add":
        return None
    if instance.pk not in access.managed_groups:
        return "Only group managers and owners can change a group."
    if instance.pk in access.owned_groups:
        return None
    if action == "delete":
        return "Only group owners can delete a group."
    changed = _changed_details(data, instance)
    if changed:
        return (
            f"Only group owners can change group details ({', '.join(changed)}); managers may add and remove members."
        )
    if _touches_managers(data, instance):
        return "Only group owners can add or remove managers and owners."
    return None


def _laboratory_write(action: str, access: Access, data: dict, instance: Any) -> str | None:
    """A laboratory is its group's details: the owners of that group add, change and delete it.

    datamodel/users.md: laboratories are tied one-to-one to groups, "linking a group
    to a lab allows for additional information to be associated with the group";
    datamodel/permissions.md: group owners "associate group with laboratory" and
    "manage group details". Moving a laboratory needs both groups' ownership.
    """
    groups = {getattr(g, "pk", g) for g in (data.get("group"), getattr(instance, "group", None)) if g is not None}
    missing = groups - access.owned_groups
    if missing:
        return (
            "Only owners of a laboratory's group can add, change or delete the laboratory; "
            f"you do not own group {', '.join(sorted(map(str, missing)))}."
        )
    return None


# Shared models whose pages say "only administrators can add / change" them.
ADMIN_WRITES = {"brainregion": ("add", "change", "delete")}
# Shared models whose pages state no restriction on delete (api/dissemination/*.md):
# any signed-in user may delete; every other shared model is deleted by administrators only.
OPEN_DELETE = {"journal", "publication"}


def refused_before_reading(model_name: str, action: str, access: Access) -> str | None:
    """Why ``action`` is refused whatever the payload holds (checked before validating it).

    A DRF permission class answers 403 before the body is validated; this keeps an
    administrators-only write from answering 400 about its fields first.
    """
    if action in ADMIN_WRITES.get(model_name, ()) and not access.reviewer:
        return f"Only BrainSTEM administrators (the sandbox's reviewers) can {action} a {model_name}."
    return None


def _shared_write(model_name: str, action: str, access: Access, instance: Any) -> str | None:
    """Taxonomies, resources and dissemination, as their API pages say.

    Administrators are the sandbox's reviewers. Submissions of approval models go
    through an approval; publications have no rule beyond signing in
    (datamodel/dissemination/publication.md: any user can submit or propose changes).
    """
    refused = refused_before_reading(model_name, action, access)
    if refused:
        return refused
    if action == "delete" and model_name not in OPEN_DELETE and not access.reviewer:
        return f"Only BrainSTEM administrators (the sandbox's reviewers) can delete a {model_name}."
    return None
