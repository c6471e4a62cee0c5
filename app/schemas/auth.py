from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.common import RequestBody

RefreshTokenText = Annotated[str, Field(min_length=1, max_length=256)]


class TokenPairRead(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="Seconds until the access token expires.")


class TokenPairCreate(RequestBody):
    refresh_token: RefreshTokenText


class TokenPairDelete(RequestBody):
    refresh_token: RefreshTokenText
