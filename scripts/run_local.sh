#!/usr/bin/env bash
# One command from a fresh clone to a served API with demo data on the embedded SQLite database.
source "$(dirname "$0")/_venv.sh"
ensure_venv requirements.txt

export DATABASE_URL="${DATABASE_URL:-sqlite:///./data/app.db}"
export FIRST_ADMIN_EMAIL="${FIRST_ADMIN_EMAIL:-admin@example.com}"
export FIRST_ADMIN_PASSWORD="${FIRST_ADMIN_PASSWORD:-admin-password-123}"
export LOG_FORMAT="${LOG_FORMAT:-console}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"

echo "==> migrating ($DATABASE_URL)"
.venv/bin/alembic upgrade head
echo "==> creating the first admin"
.venv/bin/python -m app.db.init_db
echo "==> adding demo data"
.venv/bin/python scripts/seed_data.py --demo

cat <<MSG

  Order service on http://$HOST:$PORT   (Swagger UI: http://$HOST:$PORT/docs)
  Demo logins (use "Authorize" in /docs; username is the email):
    admin     $FIRST_ADMIN_EMAIL / $FIRST_ADMIN_PASSWORD
    customer  customer@example.com / customer-password-123

MSG
exec .venv/bin/uvicorn app.main:app --host "$HOST" --port "$PORT" --proxy-headers
