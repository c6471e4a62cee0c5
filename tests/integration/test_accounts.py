"""Erasure (`DELETE /users/me`, `DELETE /users/{id}`) and the copy of one's data (`GET /users/me/export`)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.models import IdempotencyKey, LoginSession, RefreshToken, User
from tests.conftest import assert_problem, login
from tests.integration.shop import make_product, place, place_ok, watch_connections

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
RANGE = {
    "start": (TODAY - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "end": (TODAY + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
}


async def _analytics(client, admin) -> dict:
    """The figures, without `data_as_of` (the moment each report was read)."""
    params = RANGE
    summary = (await client.get("/analytics/summary", params=params, headers=admin.headers)).json()
    top = (await client.get("/analytics/top-customers", params=params, headers=admin.headers)).json()
    for report in (summary, top):
        report.pop("data_as_of", None)
    return {"summary": summary, "top": top}


async def _rows(container, model, **where) -> int:
    async with container.session_factory() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


# --- DELETE /users/me -------------------------------------------------------------------------------


async def test_erasure_removes_the_person_and_keeps_the_orders(client, container, admin, register):
    buyer = await register()
    product = await make_product(client, admin, price_cents=1000, stock=10)
    order = await place_ok(client, buyer, (product["id"], 2))
    keyed = await place(client, buyer, (product["id"], 1), key="erasure-key-1")
    assert keyed.status_code == 201
    assert (
        await client.patch(f"/orders/{order['id']}/status", json={"status": "paid"}, headers=admin.headers)
    ).status_code == 200
    before = await _analytics(client, admin)

    response = await client.request("DELETE", "/users/me", json={"password": buyer.password}, headers=buyer.headers)
    assert response.status_code == 204, response.text

    # Every token of the account stops working at once; the password no longer signs in.
    assert_problem(await client.get("/users/me", headers=buyer.headers), 401)
    assert_problem(await client.post("/auth/refresh", json={"refresh_token": buyer.refresh_token}), 401)
    refused = await client.post("/auth/login", data={"username": buyer.email, "password": buyer.password})
    assert_problem(refused, 401)

    # The account stays, without its email, name or hash; its orders and the figures do not change.
    erased = (await client.get(f"/users/{buyer.id}", headers=admin.headers)).json()
    assert (erased["email"], erased["full_name"], erased["is_active"]) == (None, None, False)
    assert (await client.get(f"/orders/{order['id']}", headers=admin.headers)).json()["user_id"] == buyer.id
    after = await _analytics(client, admin)
    assert after["summary"] == before["summary"]
    [top_before] = [row for row in before["top"]["items"] if row["user_id"] == buyer.id]
    [top_after] = [row for row in after["top"]["items"] if row["user_id"] == buyer.id]
    assert top_before["email"] == buyer.email and top_after["email"] is None
    assert {k: v for k, v in top_after.items() if k != "email"} == {k: v for k, v in top_before.items() if k != "email"}

    async with container.session_factory() as session:
        row = await session.get(User, uuid.UUID(buyer.id))
        assert row is not None
        assert (row.email, row.full_name, row.password_hash, row.is_active) == (None, None, None, False)
        assert row.erased_at is not None
    assert await _rows(container, LoginSession, user_id=uuid.UUID(buyer.id)) == 0
    assert await _rows(container, IdempotencyKey, user_id=uuid.UUID(buyer.id)) == 0
    async with container.session_factory() as session:
        tokens = await session.scalar(
            select(func.count())
            .select_from(RefreshToken)
            .join(LoginSession, RefreshToken.session_id == LoginSession.id, isouter=True)
            .where(LoginSession.id.is_(None))
        )
    assert tokens == 0


async def test_the_email_of_an_erased_account_registers_again(client, register):
    first = await register()
    assert (
        await client.request("DELETE", "/users/me", json={"password": first.password}, headers=first.headers)
    ).status_code == 204

    again = await client.post("/auth/register", json={"email": first.email.upper(), "password": "new-password-42"})
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first.id
    tokens = await login(client, first.email, "new-password-42")
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["email"] == first.email


async def test_erasure_needs_the_right_password(client, customer):
    refused = await client.request(
        "DELETE", "/users/me", json={"password": "not-the-password"}, headers=customer.headers
    )
    assert_problem(refused, 400)
    assert (await client.get("/users/me", headers=customer.headers)).status_code == 200
    assert_problem(await client.request("DELETE", "/users/me", headers=customer.headers), 422)
    assert_problem(await client.request("DELETE", "/users/me", json={}, headers=customer.headers), 422)


async def test_the_last_active_admin_cannot_erase_itself(client, container, admin):
    # The fixture's admin may share the database with admins of other tests: leave it the only active one.
    others = await _other_active_admins(client, admin)
    for other in others:
        await client.patch(f"/users/{other}", json={"is_active": False}, headers=admin.headers)

    assert_problem(
        await client.request("DELETE", "/users/me", json={"password": admin.password}, headers=admin.headers), 409
    )
    assert (await client.get("/users/me", headers=admin.headers)).status_code == 200


async def test_an_admin_can_erase_itself_while_another_admin_remains(client, container, admin):
    second_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    await container.services.users.ensure_admin(email=second_email, password="admin-password-456")

    response = await client.request("DELETE", "/users/me", json={"password": admin.password}, headers=admin.headers)
    assert response.status_code == 204, response.text
    second = await login(client, second_email, "admin-password-456")
    erased = await client.get(f"/users/{admin.id}", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert erased.json()["email"] is None


async def _other_active_admins(client, admin) -> list[str]:
    found, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/users", params=params, headers=admin.headers)).json()
        found += [u["id"] for u in page["items"] if u["role"] == "admin" and u["is_active"] and u["id"] != admin.id]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


# --- DELETE /users/{id} -----------------------------------------------------------------------------


async def test_an_admin_erases_an_account(client, admin, register):
    buyer = await register()
    assert (await client.delete(f"/users/{buyer.id}", headers=admin.headers)).status_code == 204
    assert_problem(await client.get("/users/me", headers=buyer.headers), 401)
    assert (await client.get(f"/users/{buyer.id}", headers=admin.headers)).json()["email"] is None
    # Erasing it again changes nothing; an erased account cannot be changed or brought back.
    assert (await client.delete(f"/users/{buyer.id}", headers=admin.headers)).status_code == 204
    assert_problem(await client.patch(f"/users/{buyer.id}", json={"is_active": True}, headers=admin.headers), 409)


async def test_admin_erasure_rules(client, admin, customer):
    assert_problem(await client.delete(f"/users/{admin.id}", headers=admin.headers), 409)
    assert_problem(await client.delete(f"/users/{uuid.uuid4()}", headers=admin.headers), 404)
    assert_problem(await client.delete(f"/users/{admin.id}", headers=customer.headers), 403)
    assert_problem(await client.delete("/users/not-a-uuid", headers=admin.headers), 422)
    assert (await client.get("/users/me", headers=admin.headers)).status_code == 200


async def _new_admin(client, container) -> dict[str, str]:
    email, password = f"admin-{uuid.uuid4().hex[:8]}@example.com", "admin-password-456"
    await container.services.users.ensure_admin(email=email, password=password)
    tokens = await login(client, email, password)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    return {"id": (await client.get("/users/me", headers=headers)).json()["id"], **headers}


async def test_two_admins_erasing_each_other_at_once_leave_one(app, client, container):
    """Both requests are authorised when they start; the acting admin is checked again under the admins' row
    locks, so the second to write finds it is no longer an admin (403), or is already signed out (401)."""
    for _ in range(5):
        one, two = await _new_admin(client, container), await _new_admin(client, container)
        auth = (
            {key: value for key, value in one.items() if key != "id"},
            {key: value for key, value in two.items() if key != "id"},
        )
        with watch_connections(app):
            first, second = await asyncio.gather(
                client.delete(f"/users/{two['id']}", headers=auth[0]),
                client.delete(f"/users/{one['id']}", headers=auth[1]),
            )
        assert sorted([first.status_code, second.status_code]) in ([204, 401], [204, 403]), (first.text, second.text)
        alive = [(await client.get("/users/me", headers=headers)).status_code == 200 for headers in auth]
        assert alive.count(True) == 1


# --- GET /users/me/export ---------------------------------------------------------------------------


async def test_the_export_holds_everything_about_the_caller_and_nothing_else(client, admin, register):
    buyer = await register()
    stranger = await register()
    product = await make_product(client, admin, price_cents=450, stock=20)
    first = await place_ok(client, buyer, (product["id"], 1))
    second = await place_ok(client, buyer, (product["id"], 3))
    await place_ok(client, stranger, (product["id"], 1))
    assert (await client.post(f"/orders/{first['id']}/cancel", headers=buyer.headers)).status_code == 200
    refreshed = await client.post("/auth/refresh", json={"refresh_token": buyer.refresh_token})
    assert refreshed.status_code == 200
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    await login(client, buyer.email, buyer.password)  # a second login session

    response = await client.get("/users/me/export", headers=headers)
    assert response.status_code == 200, response.text
    document = response.json()
    assert set(document) == {"exported_at", "profile", "orders", "login_sessions"}
    assert document["profile"] == (await client.get("/users/me", headers=headers)).json()

    assert [order["id"] for order in document["orders"]] == [first["id"], second["id"]]
    cancelled, pending = document["orders"]
    assert cancelled["status"] == "cancelled" and pending["status"] == "pending"
    assert cancelled["items"] == first["items"] and pending["total_cents"] == 1350
    assert [(c["from_status"], c["to_status"]) for c in cancelled["history"]] == [
        (None, "pending"),
        ("pending", "cancelled"),
    ]
    assert all(change["changed_by"] == buyer.id for change in cancelled["history"])

    sessions = document["login_sessions"]
    assert len(sessions) == 2
    assert set(sessions[0]) == {"id", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_reason"}
    # The first session was refreshed: it was last used after it was opened.
    assert sessions[0]["last_used_at"] > sessions[0]["created_at"]
    assert all(session["revoked_at"] is None for session in sessions)

    text = response.text
    for secret in (buyer.password, buyer.refresh_token, refreshed.json()["refresh_token"], "$argon2", stranger.email):
        assert secret not in text


async def test_the_export_of_an_account_without_orders(client, customer):
    document = (await client.get("/users/me/export", headers=customer.headers)).json()
    assert document["orders"] == []
    assert len(document["login_sessions"]) == 1
    assert document["profile"]["email"] == customer.email
