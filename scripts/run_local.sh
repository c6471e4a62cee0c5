#!/usr/bin/env bash
# One command from a fresh clone to a served API with demo data on the embedded SQLite database.
# PORT (default 8000) and HOST (default 127.0.0.1) choose where it listens: `make run PORT=8080`.
source "$(dirname "$0")/_venv.sh"
ensure_venv requirements.txt

export DATABASE_URL="${DATABASE_URL:-sqlite:///./data/app.db}"
export FIRST_ADMIN_EMAIL="${FIRST_ADMIN_EMAIL:-admin@example.com}"
export FIRST_ADMIN_PASSWORD="${FIRST_ADMIN_PASSWORD:-admin-password-123}"
export LOG_FORMAT="${LOG_FORMAT:-console}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"

# A taken port fails here, before the migrations and the banner, instead of after announcing the address.
.venv/bin/python - "$HOST" "$PORT" <<'PY' || exit 1
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    try:
        probe.bind((host, port))
    except OSError as error:
        sys.exit(f"cannot serve on {host}:{port}: {error.strerror}. Choose another port: make run PORT={port + 1}")
PY

echo "==> migrating ($DATABASE_URL)"
.venv/bin/alembic upgrade head
echo "==> creating the first admin"
.venv/bin/python -m app.db.init_db
echo "==> adding demo data"
.venv/bin/python scripts/seed_data.py --demo

cat <<MSG

  Order service on http://$HOST:$PORT   (Swagger UI: http://$HOST:$PORT/docs)
  Admin dashboard: http://$HOST:$PORT/admin
  Demo logins (use "Authorize" in /docs; username is the email):
    admin     $FIRST_ADMIN_EMAIL / $FIRST_ADMIN_PASSWORD
    customer  customer@example.com / customer-password-123

MSG
exec .venv/bin/uvicorn app.main:app --host "$HOST" --port "$PORT" --proxy-headers
