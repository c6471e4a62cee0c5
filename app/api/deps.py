"""Request-scoped wiring: the container's services, and the caller."""

import hmac
from collections.abc import Callable
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.bootstrap import Container
from app.core.context import user_id_var
from app.core.errors import AuthenticationError
from app.schemas.user import UserRead
from app.services.analytics_service import AnalyticsService
from app.services.auth_service import AuthService
from app.services.caller import Caller, require_admin
from app.services.order_service import OrderService
from app.services.order_status_service import OrderStatusService
from app.services.password_reset_service import PasswordResetService
from app.services.product_service import ProductService
from app.services.user_service import UserService

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/auth/login",
    auto_error=False,
    description="An access token from POST /auth/login or POST /auth/refresh, as `Authorization: Bearer <token>`.",
)


def container_of(request: Request) -> Container:
    """The app's composition root (app/bootstrap.py), set by `create_app` or at start-up."""
    return cast(Container, request.app.state.container)


async def get_auth_service(request: Request) -> AuthService:
    return container_of(request).services.auth


async def get_user_service(request: Request) -> UserService:
    return container_of(request).services.users


async def get_product_service(request: Request) -> ProductService:
    return container_of(request).services.products


async def get_order_service(request: Request) -> OrderService:
    return container_of(request).services.orders


async def get_order_status_service(request: Request) -> OrderStatusService:
    return container_of(request).services.order_status


async def get_analytics_service(request: Request) -> AnalyticsService:
    return container_of(request).services.analytics


async def get_password_reset_service(request: Request) -> PasswordResetService:
    return container_of(request).services.password_resets


SERVICE_PROVIDERS: set[Callable[..., Any]] = {
    get_auth_service,
    get_user_service,
    get_product_service,
    get_order_service,
    get_order_status_service,
    get_analytics_service,
    get_password_reset_service,
}
AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
UserServiceDep = Annotated[UserService, Depends(get_user_service)]
ProductServiceDep = Annotated[ProductService, Depends(get_product_service)]
OrderServiceDep = Annotated[OrderService, Depends(get_order_service)]
OrderStatusServiceDep = Annotated[OrderStatusService, Depends(get_order_status_service)]
AnalyticsServiceDep = Annotated[AnalyticsService, Depends(get_analytics_service)]
PasswordResetServiceDep = Annotated[PasswordResetService, Depends(get_password_reset_service)]
BearerToken = Annotated[str | None, Depends(oauth2_scheme)]


async def get_caller(auth: AuthServiceDep, token: BearerToken) -> Caller:
    if not token:
        raise AuthenticationError("Not authenticated.")
    caller = await auth.authenticate(access_token=token)
    user_id_var.set(str(caller.id))
    return caller


async def get_optional_caller(auth: AuthServiceDep, token: BearerToken) -> Caller | None:
    """The caller on a public route: None without a token; a token that is sent must be valid (else 401)."""
    if not token:
        return None
    return await get_caller(auth, token)


async def get_profile(auth: AuthServiceDep, token: BearerToken) -> UserRead:
    """The caller's own account, from the same query that checks the token's session (GET /users/me)."""
    if not token:
        raise AuthenticationError("Not authenticated.")
    caller, profile = await auth.authenticate_profile(access_token=token)
    user_id_var.set(str(caller.id))
    return profile


async def get_admin(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    # Here, before the body or the query is read: a customer gets 403 whatever else the request holds.
    require_admin(caller)
    return caller


CurrentUser = Annotated[Caller, Depends(get_caller)]
AdminUser = Annotated[Caller, Depends(get_admin)]
OptionalUser = Annotated[Caller | None, Depends(get_optional_caller)]
CurrentProfile = Annotated[UserRead, Depends(get_profile)]


async def require_metrics_token(request: Request) -> None:
    """With `METRICS_TOKEN` set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`."""
    expected = container_of(request).settings.metrics_token
    if expected is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.get_secret_value().encode()
    ):
        raise AuthenticationError("The metrics token is missing or wrong.")


MetricsAccess = Depends(require_metrics_token)
