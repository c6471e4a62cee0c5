"""Fixtures for the service unit tests: in-memory fakes, no database."""

import pytest

from tests.unit.fakes import FakeHasher, FakeReadSide, FakeUnitOfWork


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def reads(uow: FakeUnitOfWork) -> FakeReadSide:
    """The read side over the same rows as `uow`."""
    return FakeReadSide(uow.store)


@pytest.fixture
def hasher(uow: FakeUnitOfWork) -> FakeHasher:
    return FakeHasher(uow)
