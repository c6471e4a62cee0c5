"""user_service rules, driven through in-memory fakes: results, errors raised, and what was committed."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.core.errors import BadRequestError, ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from app.core.pagination import CursorCodec
from app.models import LoginSession, Role, User
from app.schemas.user import PasswordUpdate, ProfileUpdate, UserDelete, UserUpdate
from app.services.caller import Caller
from app.services.outbox import Outbox
from app.services.user_service import UserService
from tests.unit.fakes import FakeHasher, FakeReadSide, FakeThrottle, FakeUnitOfWork, caller, make_user


def open_session(uow: FakeUnitOfWork, user) -> LoginSession:
    now = datetime.now(UTC)
    login_session = LoginSession(id=uuid.uuid4(), user_id=user.id, created_at=now, expires_at=now + timedelta(days=1))
    uow.login_sessions.rows[login_session.id] = login_session
    return login_session


def _users(uow: FakeUnitOfWork, hasher: FakeHasher | None = None) -> UserService:
    """The service over these fakes; the same unit of work is entered for every transaction."""
    return UserService(
        lambda: uow,
        FakeReadSide(uow.store),
        hasher=hasher or FakeHasher(uow),
        cursors=CursorCodec(b"unit"),
        throttle=FakeThrottle(),
        outbox=Outbox(events=True, mail=True),
    )


def principal_of(uow: FakeUnitOfWork, user) -> Caller:
    return caller(user=user, session_id=open_session(uow, user).id)


ADMIN = caller(Role.ADMIN)

# --- own account ----------------------------------------------------------------------------------


async def test_update_me_sets_the_name(uow):
    user = make_user(uow, email="ann@example.com")
    updated = await _users(uow).update_profile(principal_of(uow, user), ProfileUpdate(full_name="Ann"))
    assert updated.full_name == "Ann"
    assert uow.commits == 1


async def test_change_password_sets_the_hash_and_revokes_every_session(uow, hasher):
    user = make_user(uow, email="ann@example.com")
    principal, other = principal_of(uow, user), open_session(uow, user)
    data = PasswordUpdate(current_password="right-password", new_password="brand-new-password")

    await _users(uow, hasher).change_password(principal, data)

    assert user.password_hash == "hashed:brand-new-password"
    assert all(s.revoked_reason == "password-change" for s in (uow.login_sessions.rows[principal.session_id], other))
    assert uow.commits == 1
    assert hasher.inside_transaction == []
    assert uow.users.locked == [user.id]


async def test_change_password_with_a_wrong_current_password_changes_nothing(uow, hasher):
    user = make_user(uow, email="ann@example.com")
    principal = principal_of(uow, user)
    data = PasswordUpdate(current_password="not-it", new_password="brand-new-password")

    with pytest.raises(BadRequestError):
        await _users(uow, hasher).change_password(principal, data)

    assert user.password_hash == "hashed:right-password"
    assert uow.login_sessions.rows[principal.session_id].revoked_at is None
    assert not uow.committed


async def test_change_password_refuses_when_the_password_changed_meanwhile(uow):
    user = make_user(uow, email="ann@example.com")
    principal = principal_of(uow, user)
    changed = User(id=user.id, email=user.email, role=user.role, is_active=True, password_hash="hashed:changed")

    class RacedHasher(FakeHasher):
        async def hash(self, password: str) -> str:
            # Another request stores a new password while this one hashes the new password.
            uow.users.rows[user.id] = changed
            return await super().hash(password)

    hasher = RacedHasher(uow)
    with pytest.raises(ConflictError):
        await _users(uow, hasher).change_password(
            principal, PasswordUpdate(current_password="right-password", new_password="brand-new-password")
        )
    assert changed.password_hash == "hashed:changed"
    assert not uow.committed


# --- admin ----------------------------------------------------------------------------------------


@pytest.fixture
def admin(uow):
    return make_user(uow, email="root@example.com", role=Role.ADMIN)


@pytest.mark.parametrize(
    "changes",
    [{"role": Role.CUSTOMER}, {"is_active": False}, {"role": Role.CUSTOMER, "full_name": "x"}],
    ids=["demote", "deactivate", "demote-and-rename"],
)
async def test_admin_cannot_demote_or_deactivate_themself(uow, admin, changes):
    principal = principal_of(uow, admin)
    with pytest.raises(ConflictError):
        await _users(uow).update_user(principal, admin.id, UserUpdate(**changes))
    assert (admin.role, admin.is_active, admin.full_name) == (Role.ADMIN, True, None)
    assert not uow.committed


async def test_admin_may_keep_their_role_and_rename_themself(uow, admin):
    changes = UserUpdate(full_name="Chief", role=Role.ADMIN, is_active=True)
    updated = await _users(uow).update_user(principal_of(uow, admin), admin.id, changes)
    assert (updated.full_name, updated.role, updated.is_active) == ("Chief", Role.ADMIN, True)
    assert uow.commits == 1


async def test_deactivating_a_user_revokes_their_sessions(uow, admin):
    user = make_user(uow, email="ann@example.com")
    sessions = [open_session(uow, user), open_session(uow, user)]
    admin_session = principal_of(uow, admin)

    updated = await _users(uow).update_user(admin_session, user.id, UserUpdate(is_active=False))

    assert updated.is_active is False
    assert all(s.revoked_reason == "deactivated" for s in sessions)
    assert uow.login_sessions.rows[admin_session.session_id].revoked_at is None
    assert uow.commits == 1
    assert uow.users.locked == [admin.id, user.id]  # the active admins, then the account changed


@pytest.mark.parametrize("change", [{"role": Role.CUSTOMER}, {"is_active": False}], ids=["demoted", "deactivated"])
async def test_an_admin_changed_since_their_token_was_checked_changes_nothing(uow, admin, change):
    """The caller passed the admin check on the way in; the transaction that writes checks again."""
    principal = principal_of(uow, admin)
    other = make_user(uow, email="other-admin@example.com", role=Role.ADMIN)
    for name, value in change.items():
        setattr(admin, name, value)
    with pytest.raises(PermissionDeniedError):
        await _users(uow).update_user(principal, other.id, UserUpdate(role=Role.CUSTOMER))
    assert other.role == Role.ADMIN
    assert not uow.committed


async def test_admin_update_leaves_omitted_fields_alone(uow, admin):
    user = make_user(uow, email="ann@example.com", full_name="Ann")
    session = open_session(uow, user)
    updated = await _users(uow).update_user(principal_of(uow, admin), user.id, UserUpdate(role=Role.ADMIN))
    assert (updated.full_name, updated.role, updated.is_active) == ("Ann", Role.ADMIN, True)
    assert session.revoked_at is None


async def test_admin_update_can_clear_the_name(uow, admin):
    user = make_user(uow, email="ann@example.com", full_name="Ann")
    updated = await _users(uow).update_user(principal_of(uow, admin), user.id, UserUpdate(full_name=None))
    assert updated.full_name is None


async def test_admin_update_of_an_unknown_user_is_not_found(uow, admin):
    with pytest.raises(NotFoundError):
        await _users(uow).update_user(principal_of(uow, admin), uuid.uuid4(), UserUpdate(full_name="x"))
    assert not uow.committed


async def test_get_user(uow, reads, admin):
    assert (await _users(uow).get_user(admin.id)).email == admin.email
    with pytest.raises(NotFoundError):
        await _users(uow).get_user(uuid.uuid4())


async def test_list_users_pages_newest_first_with_a_cursor(uow, reads):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    users = [make_user(uow, email=f"u{i}@example.com", created_at=start + timedelta(minutes=i)) for i in range(5)]

    first = await _users(uow).list_users(ADMIN, limit=2, cursor=None, email=None)
    second = await _users(uow).list_users(ADMIN, limit=2, cursor=first.next_cursor, email=None)
    third = await _users(uow).list_users(ADMIN, limit=2, cursor=second.next_cursor, email=None)

    ids = [item.id for page in (first, second, third) for item in page.items]
    assert ids == [user.id for user in reversed(users)]
    assert first.next_cursor and second.next_cursor and third.next_cursor is None


async def test_list_users_with_exactly_a_page_has_no_next_cursor(uow, reads):
    for i in range(2):
        make_user(uow, email=f"u{i}@example.com")
    page = await _users(uow).list_users(ADMIN, limit=2, cursor=None, email=None)
    assert len(page.items) == 2 and page.next_cursor is None


async def test_list_users_refuses_a_bad_cursor(uow, reads):
    with pytest.raises(InvalidInputError) as caught:
        await _users(uow).list_users(ADMIN, limit=2, cursor="bogus", email=None)
    assert caught.value.errors[0]["loc"] == ["query", "cursor"]


# --- first admin ----------------------------------------------------------------------------------


async def test_ensure_admin_creates_once(uow, hasher):
    assert await _users(uow, hasher).ensure_admin(email="Root@Example.com", password="bootstrap-pass") is True
    (admin,) = uow.users.rows.values()
    assert (admin.email, admin.role, admin.is_active) == ("root@example.com", Role.ADMIN, True)
    assert admin.password_hash == "hashed:bootstrap-pass"
    uow.commits = 0
    assert await _users(uow, hasher).ensure_admin(email="root@example.com", password="other") is False
    assert admin.password_hash == "hashed:bootstrap-pass"
    assert not uow.committed


# --- erasure and export ---------------------------------------------------------------------------


async def test_erase_me_removes_the_person_and_its_sessions(uow, hasher):
    user = make_user(uow, email="ann@example.com", full_name="Ann")
    principal = principal_of(uow, user)

    await _users(uow, hasher).erase_me(principal, UserDelete(password="right-password"))

    assert (user.email, user.full_name, user.password_hash, user.is_active) == (None, None, None, False)
    assert user.erased_at is not None
    assert uow.login_sessions.of_user(user.id) == []
    assert [event.type for event in uow.outbox.messages()] == ["shop.user.erased"]
    assert uow.commits == 1
    assert hasher.inside_transaction == []


async def test_erase_me_with_a_wrong_password_changes_nothing(uow):
    user = make_user(uow, email="ann@example.com")
    with pytest.raises(BadRequestError):
        await _users(uow).erase_me(principal_of(uow, user), UserDelete(password="wrong-password"))
    assert user.email == "ann@example.com" and uow.commits == 0


async def test_the_last_active_admin_cannot_erase_itself(uow):
    admin = make_user(uow, email="root@example.com", role=Role.ADMIN)
    make_user(uow, email="old@example.com", role=Role.ADMIN, is_active=False)
    with pytest.raises(ConflictError):
        await _users(uow).erase_me(principal_of(uow, admin), UserDelete(password="right-password"))
    assert admin.email == "root@example.com" and uow.commits == 0


async def test_erase_user_checks_the_acting_admin_under_the_locks(uow):
    target = make_user(uow, email="ann@example.com")
    demoted = make_user(uow, email="was-admin@example.com", role=Role.CUSTOMER)
    # The token still says admin; the row, read under the admins' locks, does not.
    stale = Caller(id=demoted.id, role=Role.ADMIN, session_id=uuid.uuid4())
    with pytest.raises(PermissionDeniedError):
        await _users(uow).erase_user(stale, target.id)
    assert target.email == "ann@example.com"


async def test_erase_user_refuses_oneself_and_unknown_accounts(uow):
    admin = make_user(uow, email="root@example.com", role=Role.ADMIN)
    acting = principal_of(uow, admin)
    with pytest.raises(ConflictError):
        await _users(uow).erase_user(acting, admin.id)
    with pytest.raises(NotFoundError):
        await _users(uow).erase_user(acting, uuid.uuid4())


async def test_export_holds_the_profile_and_sessions(uow):
    user = make_user(uow, email="ann@example.com")
    principal = principal_of(uow, user)
    document = await _users(uow).export(principal)
    assert document.profile.email == "ann@example.com"
    assert [s.id for s in document.login_sessions] == [principal.session_id]
    assert document.orders == []
