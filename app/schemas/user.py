import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.models.user import Role
from app.schemas.common import Page, PlainText, RequestBody
from app.schemas.order import OrderRead, StatusChangeRead

Password = Annotated[str, Field(min_length=8, max_length=128)]
FullName = Annotated[PlainText, Field(min_length=1, max_length=200)]
Email = Annotated[EmailStr, Field(max_length=320)]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The account's id.")
    email: str | None = Field(
        description="The sign-in email, in its canonical spelling (lower case, Unicode domain); null once the account "
        "was erased."
    )
    full_name: str | None = Field(description="The display name; null when none was given.")
    role: Role = Field(description="`customer` for every registered account; `admin` runs the shop.")
    is_active: bool = Field(
        description="False once an admin deactivated the account or it was erased: it can no longer sign in."
    )
    created_at: datetime = Field(description="When the account was registered (UTC).")


class UserCreate(RequestBody):
    email: Email = Field(description="Must be new, compared in its canonical spelling (case does not matter).")
    password: Password = Field(description="8 to 128 characters; stored only as an argon2id hash.")
    full_name: FullName | None = Field(default=None, description="An optional display name.")


class ProfileUpdate(RequestBody):
    full_name: FullName | None = Field(description="The new display name, or null to remove it.")


class PasswordUpdate(RequestBody):
    current_password: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        description="The password the account has now."
    )
    new_password: Password = Field(description="8 to 128 characters.")


class UserUpdate(RequestBody):
    full_name: FullName | None = Field(default=None, description="The new display name; null removes it.")
    role: Role | None = Field(default=None, description="The new role; omitted or null keeps it.")
    # Strict: lax parsing would read "off", "no", 0 as false and deactivate the account.
    is_active: Annotated[bool, Field(strict=True)] | None = Field(
        default=None, description="False deactivates the account and revokes its sessions; omitted or null keeps it."
    )


class UserDelete(RequestBody):
    password: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        description="The account's password, to confirm the erasure."
    )


class LoginSessionRead(BaseModel):
    id: uuid.UUID = Field(description="The login session's id.")
    created_at: datetime = Field(description="When the session was opened by signing in (UTC).")
    last_used_at: datetime | None = Field(
        description="When the session last got tokens, by signing in or by a refresh (UTC)."
    )
    expires_at: datetime = Field(description="When its refresh tokens stop working (UTC).")
    revoked_at: datetime | None = Field(description="When it was revoked (UTC); null while it is live.")
    revoked_reason: str | None = Field(
        description="Why it was revoked: `logout`, `refresh-reuse` (a spent refresh token came back), "
        "`password-change`, `password-reset` or `deactivated`; null while it is live."
    )


class OrderExportRead(OrderRead):
    history: list[StatusChangeRead] = Field(description="Every status change, oldest first, the creation included.")


class UserExportRead(BaseModel):
    exported_at: datetime = Field(description="When this copy was made (UTC).")
    profile: UserRead = Field(description="The account.")
    orders: list[OrderExportRead] = Field(description="Every order of the account, oldest first.")
    login_sessions: list[LoginSessionRead] = Field(
        description="Every login session still kept, oldest first; never a token or a hash."
    )


UserPage = Page[UserRead]
