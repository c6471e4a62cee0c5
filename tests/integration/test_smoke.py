from tests.conftest import assert_problem


async def test_register_login_me(client, customer):
    response = await client.get("/users/me", headers=customer.headers)
    assert response.status_code == 200
    assert response.json()["email"] == customer.email


async def test_unknown_route_is_problem(client):
    assert_problem(await client.get("/nope"), 404)
