"""The caller of an authenticated request: who, with which role, through which login session."""

import uuid
from dataclasses import dataclass

from app.models import Role


@dataclass(frozen=True, slots=True)
class Caller:
    id: uuid.UUID
    role: Role
    session_id: uuid.UUID

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN
