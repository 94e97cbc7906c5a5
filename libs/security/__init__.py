"""libs.security — authentication, authorisation, TLS, rate limits and deadline propagation
for every gRPC server and client of the runtime (issue 9). See INTEGRATION.md.

Servicers use:

    from libs.security import current_identity, require_owner_or_admin, owner_for_create
"""

from libs.security.authz import (
    ADMIN,
    ROLES,
    USER,
    WORKER,
    list_owner_filter,
    owner_for_create,
    require_owner_or_admin,
)
from libs.security.identity import Identity, current_identity

__all__ = [
    "ADMIN",
    "ROLES",
    "USER",
    "WORKER",
    "Identity",
    "current_identity",
    "list_owner_filter",
    "owner_for_create",
    "require_owner_or_admin",
]
