import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import AdminUser, CurrentProfile, CurrentUser, UserServiceDep
from app.api.openapi import problem_responses
from app.core.strict_json import StrictJSONRoute
from app.schemas.common import PlainText
from app.schemas.user import PasswordUpdate, ProfileUpdate, UserPage, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"], route_class=StrictJSONRoute)


@router.get("/me", response_model=UserRead, responses=problem_responses(401))
async def read_me(profile: CurrentProfile) -> UserRead:
    """The caller's own account."""
    return profile


@router.patch("/me", response_model=UserRead, responses=problem_responses(401, 422))
async def update_profile(body: ProfileUpdate, caller: CurrentUser, users: UserServiceDep) -> UserRead:
    """Change the caller's display name."""
    return await users.update_profile(caller, body)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(400, 401, 422))
async def change_password(body: PasswordUpdate, caller: CurrentUser, users: UserServiceDep) -> None:
    """Change the caller's password; every session of the account is revoked."""
    await users.change_password(caller, body)


@router.get("", response_model=UserPage, responses=problem_responses(401, 403, 422))
async def list_users(
    caller: AdminUser,
    users: UserServiceDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    email: Annotated[PlainText | None, Query(max_length=320, description="Substring of the email")] = None,
) -> UserPage:
    """All accounts, newest first (admin)."""
    return await users.list_users(caller, limit=limit, cursor=cursor, email=email)


@router.get("/{user_id}", response_model=UserRead, responses=problem_responses(401, 403, 404, 422))
async def get_user(user_id: uuid.UUID, _: AdminUser, users: UserServiceDep) -> UserRead:
    """One account (admin)."""
    return await users.get_user(user_id)


@router.patch("/{user_id}", response_model=UserRead, responses=problem_responses(401, 403, 404, 409, 422))
async def update_user(user_id: uuid.UUID, body: UserUpdate, caller: AdminUser, users: UserServiceDep) -> UserRead:
    """Change an account's name, role or status (admin); deactivation revokes its tokens at once."""
    return await users.update_user(caller, user_id, body)
