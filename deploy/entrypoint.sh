#!/bin/sh
# The image's entrypoint.
#   serve        (the default) the API under uvicorn: WORKERS processes (default: one per CPU), uvloop and httptools,
#                draining for GRACEFUL_TIMEOUT seconds on SIGTERM
#   migrate      wait for the database, `alembic upgrade head`, then `python -m app.db.init_db` (the first admin);
#                a separate one-shot step, never run by `serve`
#   healthcheck  exit 0 when /health/live answers (the image's HEALTHCHECK)
#   anything else runs as given, e.g. `order-service python scripts/…` or `order-service sh`
set -eu

serve() {
    # Prometheus' multiprocess files describe the processes of one run; a restart starts from empty.
    if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
        mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
        find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
    fi
    # --proxy-headers trusts X-Forwarded-* only from FORWARDED_ALLOW_IPS (read by uvicorn; default 127.0.0.1).
    exec uvicorn app.main:app \
        --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" \
        --workers "${WORKERS:-$(nproc)}" \
        --loop uvloop --http httptools \
        --proxy-headers --no-server-header --no-access-log \
        --timeout-graceful-shutdown "${GRACEFUL_TIMEOUT:-20}"
}

migrate() {
    # The database may still be starting (compose starts it alongside): wait up to DATABASE_WAIT_SECONDS for it to
    # answer, then migrate either way, so a wrong URL or password fails with the driver's own message.
    deadline=$(( $(date +%s) + ${DATABASE_WAIT_SECONDS:-60} ))
    until alembic current >/dev/null 2>&1 || [ "$(date +%s)" -ge "$deadline" ]; do
        sleep 1
    done
    alembic upgrade head
    exec python -m app.db.init_db
}

healthcheck() {
    exec python -c 'import os, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/health/live" % os.environ.get("PORT", "8000"), timeout=3)'
}

command="${1:-serve}"
case "$command" in
    serve|migrate|healthcheck) "$command" ;;
    *) exec "$@" ;;
esac
