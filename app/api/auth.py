from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, status
from pydantic.config import JsonDict

from app.api.deps import AuthServiceDep, CurrentUser, PasswordResetServiceDep
from app.api.openapi import form_example, problem_responses
from app.core.strict_json import StrictJSONRoute
from app.schemas import examples
from app.schemas.auth import (
    PasswordResetAccepted,
    PasswordResetConfirm,
    PasswordResetCreate,
    TokenPairCreate,
    TokenPairDelete,
    TokenPairRead,
)
from app.schemas.common import without_null
from app.schemas.user import UserCreate, UserRead

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
        password: Annotated[
            str, Form(min_length=1, description="The account's password", json_schema_extra={"format": "password"})
        ],
        grant_type: Annotated[
            str | None, Form(pattern="^password$", description="`password` when sent", json_schema_extra=without_null)
        ] = None,
        scope: Annotated[str, Form(description="Ignored")] = "",
        client_id: Annotated[str | None, Form(description="Ignored", json_schema_extra=without_null)] = None,
        client_secret: Annotated[str | None, Form(description="Ignored", json_schema_extra=_secret)] = None,
    ) -> None:
        self.username = username
        self.password = password


@router.post(
    "/register",
    summary="Register a customer account.",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 422),
)
async def register(body: UserCreate, auth: AuthServiceDep) -> UserRead:
    """A new account with the role `customer`; 409 when the email has one already, in any spelling."""
    return await auth.register(body)


@router.post(
    "/login",
    summary="Sign in with an email and a password.",
    response_model=TokenPairRead,
    responses=problem_responses(401, 422, 429),
    openapi_extra=form_example(examples.LOGIN_FORM),
)
async def login(form: Annotated[LoginForm, Depends()], auth: AuthServiceDep) -> TokenPairRead:
    """Exchange an email (`username`) and password for an access and a refresh token."""
    return await auth.login(username=form.username, password=form.password)


@router.post(
    "/refresh", summary="Renew the token pair.", response_model=TokenPairRead, responses=problem_responses(401, 422)
)
async def refresh_tokens(body: TokenPairCreate, auth: AuthServiceDep) -> TokenPairRead:
    """Spend a refresh token for a new pair; replaying a spent one revokes its whole session."""
    return await auth.refresh_tokens(refresh_token=body.refresh_token)


@router.post(
    "/logout",
    summary="Sign out of this session.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 422),
)
async def logout(body: TokenPairDelete, caller: CurrentUser, auth: AuthServiceDep) -> None:
    """End this login session: its refresh and access tokens stop working at once."""
    await auth.logout(caller, refresh_token=body.refresh_token)


RESET_ACCEPTED = PasswordResetAccepted(
    detail="If an active account has this email, a link to reset its password is on its way. It works once."
)


@router.post(
    "/password-reset",
    summary="Ask for a password-reset link by email.",
    response_model=PasswordResetAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(422, 429, 503),
)
async def request_password_reset(
    body: PasswordResetCreate, background: BackgroundTasks, resets: PasswordResetServiceDep
) -> PasswordResetAccepted:
    """The same 202 whether or not the email has an account; the token and the mail are made after the answer.
    Throttled per email like logins (429). 503 when the service has no mail server (production without SMTP)."""
    address = await resets.accept(body.email)
    background.add_task(resets.send, address)
    return RESET_ACCEPTED


@router.post(
    "/password-reset/confirm",
    summary="Set a new password with a reset token.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 422),
)
async def confirm_password_reset(body: PasswordResetConfirm, resets: PasswordResetServiceDep) -> None:
    """Spends the token, sets the password and ends every session of the account; 400 for an unknown, expired or
    spent token, or one issued before the password last changed."""
    await resets.confirm(token=body.token, new_password=body.new_password)
