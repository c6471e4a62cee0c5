"""Request-scoped wiring: the unit of work, the security components and the caller."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.config import Settings
from app.core.context import user_id_var
from app.core.errors import AuthenticationError, PermissionDeniedError
from app.core.rate_limit import LoginThrottle
from app.core.security import PasswordHasher, TokenCodec
from app.models import Role
from app.services import auth_service
from app.services.auth_service import Principal
from app.services.unit_of_work import UnitOfWork

SAFE_METHODS = frozenset({"GET", "HEAD"})
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


async def get_uow(request: Request) -> UnitOfWork:
    # GET and HEAD only read (safe methods, RFC 9110): their unit of work runs without a transaction.
    state = request.app.state
    return UnitOfWork(state.read_session_factory if request.method in SAFE_METHODS else state.session_factory)


async def get_hasher(request: Request) -> PasswordHasher:
    return request.app.state.hasher  # type: ignore[no-any-return]


async def get_tokens(request: Request) -> TokenCodec:
    return request.app.state.tokens  # type: ignore[no-any-return]


async def get_throttle(request: Request) -> LoginThrottle:
    return request.app.state.throttle  # type: ignore[no-any-return]


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


UoW = Annotated[UnitOfWork, Depends(get_uow)]
Hasher = Annotated[PasswordHasher, Depends(get_hasher)]
Tokens = Annotated[TokenCodec, Depends(get_tokens)]
Throttle = Annotated[LoginThrottle, Depends(get_throttle)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


async def get_principal(
    request: Request, tokens: Tokens, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    if not token:
        raise AuthenticationError("Not authenticated.")
    # A single read: it runs on its own, outside any transaction (docs/decisions.md, "round trips").
    reader = UnitOfWork(request.app.state.read_session_factory)
    principal = await auth_service.authenticate(reader, tokens, access_token=token)
    user_id_var.set(str(principal.user.id))
    return principal


async def get_optional_principal(
    request: Request, tokens: Tokens, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal | None:
    """The caller on a public route: None without a token; a token that is sent must be valid (else 401)."""
    if not token:
        return None
    return await get_principal(request, tokens, token)


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if principal.user.role != Role.ADMIN:
        raise PermissionDeniedError("This action needs the admin role.")
    return principal


CurrentUser = Annotated[Principal, Depends(get_principal)]
AdminUser = Annotated[Principal, Depends(get_admin)]
OptionalUser = Annotated[Principal | None, Depends(get_optional_principal)]
