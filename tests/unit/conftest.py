"""Fixtures for the service unit tests: in-memory fakes, no database."""

import pytest

from tests.unit.fakes import FakeHasher, FakeUnitOfWork


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def hasher(uow: FakeUnitOfWork) -> FakeHasher:
    return FakeHasher(uow)
