from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.common import RequestBody
from app.schemas.user import Email, Password

RefreshTokenText = Annotated[str, Field(min_length=1, max_length=256)]


class TokenPairRead(BaseModel):
    access_token: str = Field(description="A JWT to send as `Authorization: Bearer <token>` until it expires.")
    refresh_token: str = Field(description="Opaque and single-use: spend it on POST /auth/refresh for a new pair.")
    token_type: Literal["bearer"] = Field(default="bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds until the access token expires.")


class TokenPairCreate(RequestBody):
    refresh_token: RefreshTokenText = Field(description="The refresh token of the last pair issued.")


class TokenPairDelete(RequestBody):
    refresh_token: RefreshTokenText = Field(
        description="A refresh token of the caller's; when it is another of their sessions', that one ends too."
    )


class PasswordResetCreate(RequestBody):
    email: Email = Field(
        description="The account's email, in any spelling; the answer is the same whether or not it has an account."
    )


class PasswordResetAccepted(BaseModel):
    detail: str = Field(description="The same sentence for every accepted request.")


class PasswordResetConfirm(RequestBody):
    token: Annotated[str, Field(min_length=1, max_length=256)] = Field(
        description="The token from the reset mail's link (`?token=…`)."
    )
    new_password: Password = Field(description="8 to 128 characters.")
