import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.models.user import Role
from app.schemas.common import Page, PlainText, RequestBody

Password = Annotated[str, Field(min_length=8, max_length=128)]
FullName = Annotated[PlainText, Field(min_length=1, max_length=200)]
Email = Annotated[EmailStr, Field(max_length=320)]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None
    role: Role
    is_active: bool
    created_at: datetime


class UserCreate(RequestBody):
    email: Email
    password: Password
    full_name: FullName | None = None


class ProfileUpdate(RequestBody):
    full_name: FullName | None


class PasswordUpdate(RequestBody):
    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Password


class UserUpdate(RequestBody):
    full_name: FullName | None = None
    role: Role | None = None
    # Strict: lax parsing would read "off", "no", 0 as false and deactivate the account.
    is_active: Annotated[bool, Field(strict=True)] | None = None


UserPage = Page[UserRead]
