"""The scenarios: which requests each virtual user sends, as plan lines for scripts/bench/lua/plan.lua.

Every virtual user has its own login (its own access token and session); plans interleave users so that the
connections' in-flight requests belong to different users.
"""

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scripts.bench.dataset import ADMIN_EMAIL, ADMIN_PASSWORD, BULK_PASSWORD, Dataset

RENAME_BODY = json.dumps({"full_name": "Bench Customer"})
HOT_PRODUCTS = 8


@dataclass
class VirtualUser:
    email: str
    token: str = ""
    order_ids: list[str] = field(default_factory=list)


@dataclass
class Context:
    dataset: Dataset
    users: list[VirtualUser]
    product_ids: list[str]


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    build: Callable[[Context], list[str]]
    admin: bool = False  # virtual users are logins of the admin, on the large analytics dataset


def _line(method: str, path: str, token: str, body: str = "") -> str:
    return f"{method}\t{path}\t{token}\t{body}"


def _each_user(context: Context, rounds: int, make: Callable[[VirtualUser, int], str]) -> list[str]:
    return [make(user, turn) for turn in range(rounds) for user in context.users]


def _order_body(context: Context, user_number: int, turn: int, *, products: int = 0) -> str:
    """Two lines over the first `products` of the benchmark's products (all of them by default)."""
    ids = context.product_ids[:products] if products else context.product_ids
    first = (user_number + turn) % len(ids)
    second = (first + 1 + turn % (len(ids) - 1)) % len(ids)
    items = [{"product_id": ids[first], "quantity": 1}, {"product_id": ids[second], "quantity": 2}]
    return json.dumps({"items": items}, separators=(",", ":"))


def me(context: Context) -> list[str]:
    return _each_user(context, 1, lambda user, _: _line("GET", "/users/me", user.token))


def products(context: Context) -> list[str]:
    return _each_user(context, 1, lambda user, _: _line("GET", "/products", user.token))


def orders(context: Context) -> list[str]:
    return _each_user(context, 1, lambda user, _: _line("GET", "/orders", user.token))


def order(context: Context) -> list[str]:
    def make(user: VirtualUser, turn: int) -> str:
        return _line("GET", f"/orders/{user.order_ids[turn % len(user.order_ids)]}", user.token)

    return _each_user(context, 20, make)


def place(context: Context) -> list[str]:
    numbers = {user.email: number for number, user in enumerate(context.users)}

    def make(user: VirtualUser, turn: int) -> str:
        return _line("POST", "/orders", user.token, _order_body(context, numbers[user.email], turn))

    return _each_user(context, 16, make)


def hot(context: Context) -> list[str]:
    """A sale on a few products: every order's two lines fall on the same HOT_PRODUCTS products."""
    numbers = {user.email: number for number, user in enumerate(context.users)}

    def make(user: VirtualUser, turn: int) -> str:
        body = _order_body(context, numbers[user.email], turn, products=HOT_PRODUCTS)
        return _line("POST", "/orders", user.token, body)

    return _each_user(context, 16, make)


def mixed(context: Context) -> list[str]:
    """70% reads, 20% order placement, 10% other (order history, profile update), in a fixed 10-slot cycle."""
    numbers = {user.email: number for number, user in enumerate(context.users)}

    def make(user: VirtualUser, turn: int) -> str:
        order_id = user.order_ids[turn % len(user.order_ids)]
        slot = turn % 10
        if slot in (0, 5):
            return _line("GET", "/users/me", user.token)
        if slot in (1, 6):
            return _line("GET", "/products", user.token)
        if slot == 2:
            return _line("GET", "/orders", user.token)
        if slot in (3, 7):
            return _line("GET", f"/orders/{order_id}", user.token)
        if slot in (4, 8):
            return _line("POST", "/orders", user.token, _order_body(context, numbers[user.email], turn))
        if turn % 20 < 10:
            return _line("GET", f"/orders/{order_id}/history", user.token)
        return _line("PATCH", "/users/me", user.token, RENAME_BODY)

    return _each_user(context, 40, make)


def summary(context: Context) -> list[str]:
    return _summary_over(context, timedelta(days=30))


def summary_year(context: Context) -> list[str]:
    return _summary_over(context, timedelta(days=365))


def _summary_over(context: Context, length: timedelta) -> list[str]:
    end = context.dataset.until
    query = urllib.parse.urlencode({"start": _z(end - length), "end": _z(end)})
    return _each_user(context, 1, lambda user, _: _line("GET", f"/analytics/summary?{query}", user.token))


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


SCENARIOS = [
    Scenario("me", "GET /users/me", me),
    Scenario("products", "GET /products", products),
    Scenario("orders", "GET /orders", orders),
    Scenario("order", "GET /orders/{id}", order),
    Scenario("place", "POST /orders", place),
    Scenario("hot", "POST /orders, 8 products", hot),
    Scenario("mixed", "mixed 70/20/10", mixed),
    Scenario("summary", "GET /analytics/summary", summary, admin=True),
    Scenario("summary-year", "GET /analytics/summary (365 days)", summary_year, admin=True),
]


def login(base_url: str, email: str, password: str) -> str:
    data = urllib.parse.urlencode({"username": email, "password": password}).encode()
    request = urllib.request.Request(f"{base_url}/auth/login", data=data, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return str(json.loads(response.read())["access_token"])


def log_in_customers(base_url: str, users: list[VirtualUser]) -> None:
    with ThreadPoolExecutor(4) as pool:
        tokens = pool.map(lambda user: login(base_url, user.email, BULK_PASSWORD), users)
        for user, token in zip(users, tokens, strict=True):
            user.token = token


def admin_logins(base_url: str, count: int) -> list[VirtualUser]:
    """`count` separate logins (sessions) of the admin, one per virtual user."""
    with ThreadPoolExecutor(4) as pool:
        tokens = list(pool.map(lambda _: login(base_url, ADMIN_EMAIL, ADMIN_PASSWORD), range(count)))
    return [VirtualUser(email=ADMIN_EMAIL, token=token) for token in tokens]


def check(base_url: str, lines: list[str]) -> None:
    """Send a few of the plan's requests once; a scenario whose requests fail is not worth measuring."""
    for line in lines[:3]:
        method, path, token, body = line.split("\t")
        request = urllib.request.Request(  # noqa: S310
            f"{base_url}{path}",
            data=body.encode() if body else None,
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path} on {base_url}: {exc.code} {exc.read()[:300]!r}") from exc
