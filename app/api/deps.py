"""Request-scoped wiring: the unit of work, the read side, the security components and the caller."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.config import Settings
from app.core.context import user_id_var
from app.core.errors import AuthenticationError, PermissionDeniedError
from app.core.rate_limit import LoginThrottle
from app.core.security import PasswordHasher, TokenCodec
from app.schemas.user import UserRead
from app.services import auth_service
from app.services.caller import Caller
from app.services.read_side import ReadSide
from app.services.unit_of_work import UnitOfWork

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


async def get_uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.session_factory)


async def get_reads(request: Request) -> ReadSide:
    return request.app.state.read_side  # type: ignore[no-any-return]


async def get_hasher(request: Request) -> PasswordHasher:
    return request.app.state.hasher  # type: ignore[no-any-return]


async def get_tokens(request: Request) -> TokenCodec:
    return request.app.state.tokens  # type: ignore[no-any-return]


async def get_throttle(request: Request) -> LoginThrottle:
    return request.app.state.throttle  # type: ignore[no-any-return]


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


UoW = Annotated[UnitOfWork, Depends(get_uow)]
Reads = Annotated[ReadSide, Depends(get_reads)]
Hasher = Annotated[PasswordHasher, Depends(get_hasher)]
Tokens = Annotated[TokenCodec, Depends(get_tokens)]
Throttle = Annotated[LoginThrottle, Depends(get_throttle)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


async def get_caller(reads: Reads, tokens: Tokens, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Caller:
    if not token:
        raise AuthenticationError("Not authenticated.")
    caller = await auth_service.authenticate(reads, tokens, access_token=token)
    user_id_var.set(str(caller.id))
    return caller


async def get_profile(reads: Reads, tokens: Tokens, token: Annotated[str | None, Depends(oauth2_scheme)]) -> UserRead:
    """The caller's own account, from the same query that checks the token's session (GET /users/me)."""
    if not token:
        raise AuthenticationError("Not authenticated.")
    caller, profile = await auth_service.authenticate_profile(reads, tokens, access_token=token)
    user_id_var.set(str(caller.id))
    return profile


async def get_optional_caller(
    reads: Reads, tokens: Tokens, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Caller | None:
    """The caller on a public route: None without a token; a token that is sent must be valid (else 401)."""
    if not token:
        return None
    return await get_caller(reads, tokens, token)


async def get_admin(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    if not caller.is_admin:
        raise PermissionDeniedError("This action needs the admin role.")
    return caller


CurrentUser = Annotated[Caller, Depends(get_caller)]
AdminUser = Annotated[Caller, Depends(get_admin)]
OptionalUser = Annotated[Caller | None, Depends(get_optional_caller)]
CurrentProfile = Annotated[UserRead, Depends(get_profile)]
