from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import CurrentUser, Hasher, Throttle, Tokens, UoW
from app.schemas.auth import LogoutRequest, RefreshRequest, TokenPair
from app.schemas.common import problem_responses
from app.schemas.user import UserCreate, UserRead
from app.services import auth_service

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register", response_model=UserRead, status_code=status.HTTP_201_CREATED, responses=problem_responses(409, 422)
)
async def register_user(body: UserCreate, uow: UoW, hasher: Hasher) -> UserRead:
    """Create a customer account."""
    return UserRead.model_validate(await auth_service.register(uow, hasher, body))


@router.post("/login", response_model=TokenPair, responses=problem_responses(401, 422, 429))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: UoW, hasher: Hasher, tokens: Tokens, throttle: Throttle
) -> TokenPair:
    """Exchange an email (`username`) and password for an access and a refresh token."""
    return await auth_service.login(uow, hasher, tokens, throttle, email=form.username, password=form.password)


@router.post("/refresh", response_model=TokenPair, responses=problem_responses(401, 422))
async def refresh_tokens(body: RefreshRequest, uow: UoW, tokens: Tokens) -> TokenPair:
    """Spend a refresh token for a new pair; replaying a spent one revokes its whole session."""
    return await auth_service.refresh(uow, tokens, refresh_token=body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 422))
async def logout(body: LogoutRequest, principal: CurrentUser, uow: UoW, tokens: Tokens) -> None:
    """End this login session: its refresh and access tokens stop working at once."""
    await auth_service.logout(uow, tokens, principal, refresh_token=body.refresh_token)
