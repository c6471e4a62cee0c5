import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app.api.deps import AdminUser, CurrentProfile, CurrentUser, UserServiceDep
from app.api.openapi import problem_responses
from app.api.params import PageCursor, PageLimit
from app.core.strict_json import StrictJSONRoute
from app.schemas.common import PlainText
from app.schemas.user import PasswordUpdate, ProfileUpdate, UserDelete, UserExportRead, UserPage, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"], route_class=StrictJSONRoute)
UserId = Annotated[uuid.UUID, Path(description="The account's id.")]


@router.get("/me", summary="Read the caller's account.", response_model=UserRead, responses=problem_responses(401))
async def read_me(profile: CurrentProfile) -> UserRead:
    """The account the bearer token was issued to."""
    return profile


@router.patch(
    "/me", summary="Change the caller's display name.", response_model=UserRead, responses=problem_responses(401, 422)
)
async def update_profile(body: ProfileUpdate, caller: CurrentUser, users: UserServiceDep) -> UserRead:
    """Only `full_name` can change here (null removes it); the email, role and status cannot."""
    return await users.update_profile(caller, body)


@router.post(
    "/me/password",
    summary="Change the caller's password.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 401, 422, 429),
)
async def change_password(body: PasswordUpdate, caller: CurrentUser, users: UserServiceDep) -> None:
    """The current password is checked (400 when wrong, counted like a failed login: 429 past the limit); every
    session of the account is revoked, this one too."""
    await users.change_password(caller, body)


@router.delete(
    "/me",
    summary="Erase the caller's account.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 401, 409, 422),
)
async def erase_me(body: UserDelete, caller: CurrentUser, users: UserServiceDep) -> None:
    """Erasure, confirmed by the password (400 when wrong): the email, name, password hash and sessions go, the
    orders stay with the erased account, the email can register again. 409 for the last active admin."""
    await users.erase_me(caller, body)


@router.get(
    "/me/export",
    summary="Download everything kept about the caller.",
    response_model=UserExportRead,
    responses=problem_responses(401),
)
async def export_me(caller: CurrentUser, users: UserServiceDep) -> UserExportRead:
    """One JSON document: the profile, every order with its lines and history, and the login sessions (never a
    token or a hash)."""
    return await users.export(caller)


@router.get(
    "", summary="List the accounts (admin).", response_model=UserPage, responses=problem_responses(401, 403, 422)
)
async def list_users(
    caller: AdminUser,
    users: UserServiceDep,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
    email: Annotated[PlainText | None, Query(max_length=320, description="A substring of the email, any case")] = None,
) -> UserPage:
    """All accounts, newest first, a page at a time; `email` narrows them down."""
    return await users.list_users(caller, limit=limit, cursor=cursor, email=email)


@router.get(
    "/{user_id}",
    summary="Read an account (admin).",
    response_model=UserRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_user(user_id: UserId, _: AdminUser, users: UserServiceDep) -> UserRead:
    """One account, by its id."""
    return await users.get_user(user_id)


@router.patch(
    "/{user_id}",
    summary="Change an account's name, role or status (admin).",
    response_model=UserRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_user(user_id: UserId, body: UserUpdate, caller: AdminUser, users: UserServiceDep) -> UserRead:
    """Omitted fields keep their value; deactivating revokes its tokens at once; admins cannot demote themselves."""
    return await users.update_user(caller, user_id, body)


@router.delete(
    "/{user_id}",
    summary="Erase an account (admin).",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def erase_user(user_id: UserId, caller: AdminUser, users: UserServiceDep) -> None:
    """The same erasure as `DELETE /users/me`, without the password; 409 for oneself (use `DELETE /users/me`)."""
    await users.erase_user(caller, user_id)
