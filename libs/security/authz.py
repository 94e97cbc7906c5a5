"""Authorisation: roles, per-service allow lists, and the per-user task rules.

Roles: `user` (owns tasks), `admin` (sees and manages every task), `worker` (the service
identity of tasks-worker). In production mode only `worker` may call ComputerService and
InferenceService: a user drives the desktop through tasks, never directly. Channelz (every
server's debug service: sockets, peer addresses, call counts of the whole process) is for
`admin` only whenever authentication is on, in production mode and out of it.

When authentication is off (`current_identity()` is None) these helpers allow everything:
that is the loopback development mode, announced at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from libs.observability.correlation import get_user_id
from libs.security.identity import Identity, current_identity
from libs.status.errors import PermissionDenied

USER = "user"
ADMIN = "admin"
WORKER = "worker"
ROLES = frozenset({USER, ADMIN, WORKER})

COMPUTER_SERVICE = "bytebot.computer.v1.ComputerService"
INFERENCE_SERVICE = "bytebot.inference.v1.InferenceService"
CHANNELZ_SERVICE = "grpc.channelz.v1.Channelz"
PRODUCTION_SERVICE_ROLES: dict[str, frozenset[str]] = {
    COMPUTER_SERVICE: frozenset({WORKER}),
    INFERENCE_SERVICE: frozenset({WORKER}),
}
# Applied whenever authentication is on (an operator's debug service, not an API).
ADMIN_SERVICE_ROLES: dict[str, frozenset[str]] = {CHANNELZ_SERVICE: frozenset({ADMIN})}


class ServicePolicy:
    """Which roles may call which service (unlisted services: any authenticated caller)."""

    def __init__(
        self, production_mode: bool, extra: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        rules: dict[str, frozenset[str]] = dict(ADMIN_SERVICE_ROLES)
        if production_mode:
            rules.update(PRODUCTION_SERVICE_ROLES)
        for service, roles in (extra or {}).items():
            rules[service] = frozenset(roles)
        self.rules = rules

    def allowed_roles(self, service: str) -> frozenset[str] | None:
        return self.rules.get(service)

    def check(self, service: str, identity: Identity) -> None:
        """Raise PermissionDenied when `identity` may not call `service`."""
        allowed = self.rules.get(service)
        if allowed is not None and not identity.has_role(*allowed):
            raise PermissionDenied(
                f"{service} may only be called by role {', '.join(sorted(allowed))}; "
                f"caller {identity.subject!r} has {', '.join(sorted(identity.roles)) or 'none'}"
            )


def _privileged(identity: Identity, roles: Iterable[str]) -> bool:
    return identity.has_role(*roles)


def require_owner_or_admin(
    task_created_by: str,
    *,
    what: str = "task",
    privileged_roles: Iterable[str] = (ADMIN,),
) -> None:
    """Raise PermissionDenied unless the caller created the resource or is an admin.
    Allows everything when authentication is off."""
    identity = current_identity()
    if identity is None or _privileged(identity, privileged_roles):
        return
    if task_created_by and task_created_by == identity.subject:
        return
    raise PermissionDenied(f"{what} belongs to another user")


def owner_for_create(requested_created_by: str = "") -> str:
    """The `created_by` to store for a new task: the caller's own id. A non-admin may only
    name itself; an admin or worker may create on behalf of another user. Without
    authentication: the requested value, else the `x-user-id` bound for the call."""
    identity = current_identity()
    if identity is None:
        return requested_created_by or get_user_id() or ""
    if requested_created_by and requested_created_by != identity.subject:
        if not _privileged(identity, (ADMIN, WORKER)):
            raise PermissionDenied("created_by must be your own user id (or empty)")
        return requested_created_by
    return identity.subject


def list_owner_filter(requested_created_by: str = "") -> str:
    """The `created_by` filter of a listing: admins list anyone's (or all, with ""); other
    callers only their own. Without authentication: the requested filter."""
    identity = current_identity()
    if identity is None or _privileged(identity, (ADMIN,)):
        return requested_created_by
    if requested_created_by and requested_created_by != identity.subject:
        raise PermissionDenied("you may only list your own tasks")
    return identity.subject


__all__ = [
    "ADMIN",
    "ADMIN_SERVICE_ROLES",
    "CHANNELZ_SERVICE",
    "COMPUTER_SERVICE",
    "INFERENCE_SERVICE",
    "ROLES",
    "USER",
    "WORKER",
    "ServicePolicy",
    "list_owner_filter",
    "owner_for_create",
    "require_owner_or_admin",
]
