import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import AdminUser, CurrentProfile, CurrentUser, Hasher, Reads, UoW
from app.core.strict_json import StrictJSONRoute
from app.schemas.common import PlainText, problem_responses
from app.schemas.user import PasswordChange, UserAdminUpdate, UserPage, UserRead, UserUpdateMe
from app.services import user_service

router = APIRouter(prefix="/users", tags=["users"], route_class=StrictJSONRoute)


@router.get("/me", response_model=UserRead, responses=problem_responses(401))
async def read_me(profile: CurrentProfile) -> UserRead:
    """The caller's own account."""
    return profile


@router.patch("/me", response_model=UserRead, responses=problem_responses(401, 422))
async def update_me(body: UserUpdateMe, caller: CurrentUser, uow: UoW) -> UserRead:
    """Change the caller's display name."""
    return UserRead.model_validate(await user_service.update_me(uow, caller, body))


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(400, 401, 422))
async def change_password(body: PasswordChange, caller: CurrentUser, uow: UoW, hasher: Hasher) -> None:
    """Change the caller's password; every session of the account is revoked."""
    await user_service.change_password(uow, hasher, caller, body)


@router.get("", response_model=UserPage, responses=problem_responses(401, 403, 422))
async def list_users(
    _: AdminUser,
    reads: Reads,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    email: Annotated[PlainText | None, Query(max_length=320, description="Substring of the email")] = None,
) -> UserPage:
    """All accounts, newest first (admin)."""
    return await user_service.list_users(reads, limit=limit, cursor=cursor, email=email)


@router.get("/{user_id}", response_model=UserRead, responses=problem_responses(401, 403, 404, 422))
async def get_user(user_id: uuid.UUID, _: AdminUser, reads: Reads) -> UserRead:
    """One account (admin)."""
    return await user_service.get_user(reads, user_id)


@router.patch("/{user_id}", response_model=UserRead, responses=problem_responses(401, 403, 404, 409, 422))
async def update_user(user_id: uuid.UUID, body: UserAdminUpdate, caller: AdminUser, uow: UoW) -> UserRead:
    """Change an account's name, role or status (admin); deactivation revokes its tokens at once."""
    return UserRead.model_validate(await user_service.admin_update(uow, caller, user_id, body))
