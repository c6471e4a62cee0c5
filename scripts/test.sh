#!/usr/bin/env bash
# One command from a fresh clone to a passed suite: static checks, then every test.
# Tests run on SQLite always, and also on PostgreSQL when TEST_DATABASE_URL is set.
source "$(dirname "$0")/_venv.sh"
ensure_venv requirements-dev.txt

echo "==> ruff"
.venv/bin/ruff check .
echo "==> mypy"
.venv/bin/mypy
echo "==> import-linter"
.venv/bin/lint-imports --no-cache
[ "${1:-}" = "--checks-only" ] && exit 0

echo "==> pytest (databases: sqlite${TEST_DATABASE_URL:+, postgresql})"
.venv/bin/python -m pytest "$@"
