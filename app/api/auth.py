from typing import Annotated

from fastapi import APIRouter, Depends, Form, status
from pydantic.config import JsonDict

from app.api.deps import CurrentUser, Hasher, Throttle, Tokens, UoW
from app.core.strict_json import StrictJSONRoute
from app.schemas.auth import LogoutRequest, RefreshRequest, TokenPair
from app.schemas.common import problem_responses, without_null
from app.schemas.user import UserCreate, UserRead
from app.services import auth_service

router = APIRouter(prefix="/auth", tags=["auth"], route_class=StrictJSONRoute)


def _secret(schema: JsonDict) -> None:
    without_null(schema)
    schema["format"] = "password"


class LoginForm:
    """The OAuth2 password flow's form, so Swagger's Authorize button works. An empty field counts as missing,
    which the document says with `minLength`; a form has no null. `scope` and the client fields are ignored."""

    def __init__(
        self,
        *,
        username: Annotated[str, Form(min_length=1, description="The account's email, any case")],
        password: Annotated[str, Form(min_length=1, json_schema_extra={"format": "password"})],
        grant_type: Annotated[str | None, Form(pattern="^password$", json_schema_extra=without_null)] = None,
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form(json_schema_extra=without_null)] = None,
        client_secret: Annotated[str | None, Form(json_schema_extra=_secret)] = None,
    ) -> None:
        self.username = username
        self.password = password


@router.post(
    "/register", response_model=UserRead, status_code=status.HTTP_201_CREATED, responses=problem_responses(409, 422)
)
async def register_user(body: UserCreate, uow: UoW, hasher: Hasher) -> UserRead:
    """Create a customer account."""
    return UserRead.model_validate(await auth_service.register(uow, hasher, body))


@router.post("/login", response_model=TokenPair, responses=problem_responses(401, 422, 429))
async def login(
    form: Annotated[LoginForm, Depends()], uow: UoW, hasher: Hasher, tokens: Tokens, throttle: Throttle
) -> TokenPair:
    """Exchange an email (`username`) and password for an access and a refresh token."""
    return await auth_service.login(uow, hasher, tokens, throttle, email=form.username, password=form.password)


@router.post("/refresh", response_model=TokenPair, responses=problem_responses(401, 422))
async def refresh_tokens(body: RefreshRequest, uow: UoW, tokens: Tokens) -> TokenPair:
    """Spend a refresh token for a new pair; replaying a spent one revokes its whole session."""
    return await auth_service.refresh(uow, tokens, refresh_token=body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 422))
async def logout(body: LogoutRequest, caller: CurrentUser, uow: UoW, tokens: Tokens) -> None:
    """End this login session: its refresh and access tokens stop working at once."""
    await auth_service.logout(uow, tokens, caller, refresh_token=body.refresh_token)
