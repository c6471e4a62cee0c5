"""/users/me, password change and the admin's account management, through the public API."""

import asyncio
import uuid

import pytest

from tests.conftest import assert_problem, login

USER_FIELDS = {"id", "email", "full_name", "role", "is_active", "created_at"}


@pytest.fixture(autouse=True)
def _never_a_password_hash(response_bodies):
    yield
    assert response_bodies, "the test made no request through `client`"
    assert not [body for body in response_bodies if "$argon2" in body]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refresh(client, token: str):
    return await client.post("/auth/refresh", json={"refresh_token": token})


# --- /users/me ------------------------------------------------------------------------------------


async def test_me_returns_the_caller(client, customer):
    response = await client.get("/users/me", headers=customer.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_FIELDS
    assert (body["id"], body["email"], body["role"], body["is_active"]) == (
        customer.id,
        customer.email,
        "customer",
        True,
    )


async def test_patch_me_changes_the_name(client, customer):
    response = await client.patch("/users/me", json={"full_name": "Grace Hopper"}, headers=customer.headers)
    assert response.status_code == 200
    assert response.json()["full_name"] == "Grace Hopper"
    assert (await client.get("/users/me", headers=customer.headers)).json()["full_name"] == "Grace Hopper"

    cleared = await client.patch("/users/me", json={"full_name": None}, headers=customer.headers)
    assert cleared.status_code == 200
    assert cleared.json()["full_name"] is None


@pytest.mark.parametrize(
    "body",
    [{}, {"full_name": ""}, {"full_name": "x" * 201}, {"full_name": "a\nb"}, {"full_name": "ok", "role": "admin"}],
    ids=["empty", "blank", "too-long", "newline", "role"],
)
async def test_patch_me_rejects_invalid_bodies(client, customer, body):
    assert_problem(await client.patch("/users/me", json=body, headers=customer.headers), 422)
    me = (await client.get("/users/me", headers=customer.headers)).json()
    assert (me["role"], me["full_name"]) == ("customer", None)


async def test_me_routes_need_a_token(client):
    for response in (
        await client.get("/users/me"),
        await client.patch("/users/me", json={"full_name": "x"}),
        await client.post("/users/me/password", json={"current_password": "a", "new_password": "b" * 8}),
    ):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


# --- password change ------------------------------------------------------------------------------


async def test_password_change_revokes_every_session(client, customer):
    second = await login(client, customer.email, customer.password)
    body = {"current_password": customer.password, "new_password": "a-brand-new-password"}

    response = await client.post("/users/me/password", json=body, headers=customer.headers)
    assert response.status_code == 204
    assert response.content == b""

    for access in (customer.access_token, second["access_token"]):
        assert_problem(await client.get("/users/me", headers=bearer(access)), 401)
    for refresh_token in (customer.refresh_token, second["refresh_token"]):
        assert_problem(await refresh(client, refresh_token), 401)
    old = await client.post("/auth/login", data={"username": customer.email, "password": customer.password})
    assert_problem(old, 401)
    fresh = await login(client, customer.email, "a-brand-new-password")
    assert (await client.get("/users/me", headers=bearer(fresh["access_token"]))).status_code == 200


async def test_password_change_with_a_wrong_current_password_is_400(client, customer):
    body = {"current_password": "not-my-password", "new_password": "a-brand-new-password"}
    problem = assert_problem(await client.post("/users/me/password", json=body, headers=customer.headers), 400)
    assert "current password" in problem["detail"]
    # Nothing changed: the session lives on and the old password still works.
    assert (await client.get("/users/me", headers=customer.headers)).status_code == 200
    await login(client, customer.email, customer.password)


@pytest.mark.parametrize(
    "body",
    [
        {"current_password": "correct-horse-battery", "new_password": "Xq7#zW1"},
        {"current_password": "correct-horse-battery", "new_password": "n" * 129},
        {"current_password": "", "new_password": "long-enough-pass"},
        {"new_password": "long-enough-pass"},
        {"current_password": "correct-horse-battery", "new_password": "long-enough-pass", "email": "x@y.org"},
    ],
    ids=["new-too-short", "new-too-long", "current-empty", "current-missing", "unknown-field"],
)
async def test_password_change_rejects_invalid_bodies(client, customer, body):
    response = await client.post("/users/me/password", json=body, headers=customer.headers)
    assert_problem(response, 422)
    for value in body.values():
        if len(value) >= 7:
            assert value not in response.text
    assert (await client.get("/users/me", headers=customer.headers)).status_code == 200


# --- admin: list ----------------------------------------------------------------------------------


async def test_admin_lists_every_user_page_by_page(client, admin, register):
    created = [await register() for _ in range(4)]
    expected = {admin.id, *(account.id for account in created)}

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/users", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 2
        assert all(set(item) == USER_FIELDS for item in page["items"])
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if pages == 1:
            await register()  # a row added mid-walk is newer than the cursor, so it never shows up
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected
    assert pages == 3
    # Newest first: the last registered user leads the first page.
    assert seen[0] == created[-1].id


async def test_admin_list_default_and_limits(client, admin, customer):
    body = (await client.get("/users", headers=admin.headers)).json()
    assert {item["id"] for item in body["items"]} == {admin.id, customer.id}
    assert body["next_cursor"] is None
    for limit in (0, 101, -1, "x"):
        assert_problem(await client.get("/users", params={"limit": limit}, headers=admin.headers), 422)


@pytest.mark.parametrize("cursor", ["garbage", "eyJhIjoxfQ", "W10", "x" * 600])
async def test_admin_list_with_a_bad_cursor_is_422(client, admin, cursor):
    problem = assert_problem(await client.get("/users", params={"cursor": cursor}, headers=admin.headers), 422)
    assert problem["errors"][0]["loc"] == ["query", "cursor"]


async def test_admin_list_filters_by_a_literal_email_substring(client, admin, register):
    tag = uuid.uuid4().hex[:6]
    underscore = await register(f"lit_eral-{tag}@example.com")
    await register(f"litxeral-{tag}@example.com")
    percent = await register(f"per%cent-{tag}@example.com")
    await register(f"perxxcent-{tag}@example.com")

    async def emails(needle: str) -> set[str]:
        response = await client.get("/users", params={"email": needle}, headers=admin.headers)
        assert response.status_code == 200, response.text
        return {item["email"] for item in response.json()["items"]}

    assert await emails(f"lit_eral-{tag}") == {underscore.email}
    assert await emails(f"LIT_ERAL-{tag.upper()}") == {underscore.email}
    assert await emails("%") == {percent.email}
    assert await emails("_") == {underscore.email}
    assert await emails(f"per%cent-{tag}") == {percent.email}
    assert len(await emails(tag)) == 4
    assert await emails("\\") == set()
    assert await emails("nobody-has-this") == set()


async def test_admin_list_finds_an_email_by_any_spelling_that_registers(client, admin, register):
    tag = uuid.uuid4().hex[:8]
    account = await register(f"x-{tag}@xn--exmple-cua.com")

    async def found(needle: str) -> bool:
        response = await client.get("/users", params={"email": needle}, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]] == [account.id]

    for needle in [f"x-{tag}@xn--exmple-cua.com", f"X-{tag}@EXÄMPLE", f"{tag}@exa\u0308mple.com", "xn--exmple-cua"]:
        assert await found(needle), needle
    assert not await found(f"{tag}@xn--other-cua")


async def test_admin_list_email_filter_refuses_control_characters(client, admin):
    assert_problem(await client.get("/users", params={"email": "a\x00b"}, headers=admin.headers), 422)


# --- admin: one user ------------------------------------------------------------------------------


async def test_admin_gets_a_user(client, admin, customer):
    response = await client.get(f"/users/{customer.id}", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["email"] == customer.email
    assert_problem(await client.get(f"/users/{uuid.uuid4()}", headers=admin.headers), 404)
    assert_problem(await client.get("/users/not-a-uuid", headers=admin.headers), 422)


async def test_admin_patches_name_role_and_status(client, admin, customer):
    url = f"/users/{customer.id}"
    response = await client.patch(url, json={"full_name": "Renamed", "role": "admin"}, headers=admin.headers)
    assert response.status_code == 200
    assert (response.json()["full_name"], response.json()["role"]) == ("Renamed", "admin")
    # The promotion applies to the customer's existing token at once.
    assert (await client.get("/users", headers=customer.headers)).status_code == 200

    demoted = await client.patch(url, json={"role": "customer"}, headers=admin.headers)
    assert demoted.json()["role"] == "customer"
    assert_problem(await client.get("/users", headers=customer.headers), 403)

    # Omitted fields keep their values.
    unchanged = await client.patch(url, json={}, headers=admin.headers)
    assert unchanged.status_code == 200
    assert (unchanged.json()["full_name"], unchanged.json()["is_active"]) == ("Renamed", True)


async def test_deactivation_revokes_every_token_at_once(client, admin, customer):
    second = await login(client, customer.email, customer.password)
    response = await client.patch(f"/users/{customer.id}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is False

    for access in (customer.access_token, second["access_token"]):
        assert_problem(await client.get("/users/me", headers=bearer(access)), 401)
    for token in (customer.refresh_token, second["refresh_token"]):
        assert_problem(await refresh(client, token), 401)
    assert_problem(
        await client.post("/auth/login", data={"username": customer.email, "password": customer.password}), 401
    )

    # Reactivation lets the user log in again, but the revoked sessions stay revoked.
    assert (await client.patch(f"/users/{customer.id}", json={"is_active": True}, headers=admin.headers)).is_success
    assert_problem(await client.get("/users/me", headers=customer.headers), 401)
    await login(client, customer.email, customer.password)


@pytest.mark.parametrize("body", [{"role": "customer"}, {"is_active": False}, {"role": "customer", "is_active": True}])
async def test_admin_cannot_demote_or_deactivate_themself(client, admin, body):
    assert_problem(await client.patch(f"/users/{admin.id}", json=body, headers=admin.headers), 409)
    me = (await client.get("/users/me", headers=admin.headers)).json()
    assert (me["role"], me["is_active"]) == ("admin", True)


@pytest.mark.parametrize("body", [{"role": "customer"}, {"is_active": False}], ids=["demote", "deactivate"])
async def test_two_admins_turning_on_each_other_at_once_leave_one_admin(client, admin, register, body):
    """Both pass the admin check on the way in; the writing transactions lock the active admins in id order and
    check the acting admin again, so the second sees the first's outcome (403, or 401) instead of both winning."""
    for _ in range(5):
        first, second = await register(), await register()
        for account in (first, second):
            promoted = await client.patch(f"/users/{account.id}", json={"role": "admin"}, headers=admin.headers)
            assert promoted.status_code == 200

        responses = await asyncio.gather(
            client.patch(f"/users/{second.id}", json=body, headers=first.headers),
            client.patch(f"/users/{first.id}", json=body, headers=second.headers),
        )

        assert sorted(r.status_code for r in responses)[0] == 200, [r.text for r in responses]
        assert sorted(r.status_code for r in responses)[1] in {401, 403}, [r.text for r in responses]
        left = [(await client.get(f"/users/{a.id}", headers=admin.headers)).json() for a in (first, second)]
        assert [u["role"] == "admin" and u["is_active"] for u in left].count(True) == 1, left


async def test_admin_may_rename_themself(client, admin):
    body = {"full_name": "Chief", "role": "admin", "is_active": True}
    response = await client.patch(f"/users/{admin.id}", json=body, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["full_name"] == "Chief"


@pytest.mark.parametrize(
    "body",
    [{"role": "superuser"}, {"is_active": "maybe"}, {"email": "new@example.com"}, {"password_hash": "x"}],
    ids=["bad-role", "bad-bool", "email", "password_hash"],
)
async def test_admin_patch_rejects_invalid_bodies(client, admin, customer, body):
    assert_problem(await client.patch(f"/users/{customer.id}", json=body, headers=admin.headers), 422)


async def test_admin_patch_of_an_unknown_user_is_404(client, admin):
    assert_problem(await client.patch(f"/users/{uuid.uuid4()}", json={"full_name": "x"}, headers=admin.headers), 404)


# --- admin routes: who may call them ------------------------------------------------------------


async def test_customers_get_403_on_admin_routes(client, customer, register):
    other = await register()
    for response in (
        await client.get("/users", headers=customer.headers),
        await client.get(f"/users/{other.id}", headers=customer.headers),
        await client.patch(f"/users/{other.id}", json={"full_name": "x"}, headers=customer.headers),
        await client.patch(f"/users/{customer.id}", json={"role": "admin"}, headers=customer.headers),
    ):
        assert_problem(response, 403)
    assert (await client.get("/users/me", headers=customer.headers)).json()["role"] == "customer"


async def test_admin_routes_need_a_token(client, customer):
    for response in (
        await client.get("/users"),
        await client.get(f"/users/{customer.id}"),
        await client.patch(f"/users/{customer.id}", json={"role": "admin"}),
    ):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
