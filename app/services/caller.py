"""The caller of an authenticated request: who, with which role, through which login session."""

import uuid
from dataclasses import dataclass

from app.core.errors import PermissionDeniedError
from app.models import Role


@dataclass(frozen=True, slots=True)
class Caller:
    id: uuid.UUID
    role: Role
    session_id: uuid.UUID

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def require_admin(caller: Caller) -> None:
    """The one admin check: 403 for anyone else (routes declare it as `AdminUser`, services call it)."""
    if not caller.is_admin:
        raise PermissionDeniedError("This action needs the admin role.")
