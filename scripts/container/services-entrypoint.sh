#!/bin/sh
# `postgres`: create the cluster, its user and database on first start, as the official image does, then serve.
# `redis-server ...`: serve as the redis user. Anything else runs as given.
set -eu

as() { user="$1"; shift; exec setpriv --reuid="$user" --regid="$user" --init-groups "$@"; }

case "${1:-}" in
postgres)
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
    user="${POSTGRES_USER:-postgres}"
    mkdir -p "$PGDATA" /run/postgresql
    chown postgres:postgres "$PGDATA" /run/postgresql
    chmod 0700 "$PGDATA"
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        pwfile="$(mktemp)"
        printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
        chown postgres "$pwfile"
        (as postgres initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null)
        rm -f "$pwfile"
        echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
        database="${POSTGRES_DB:-$user}"
        if [ "$database" != postgres ]; then
            echo "CREATE DATABASE \"$database\";" | (as postgres postgres --single -j -D "$PGDATA" postgres >/dev/null)
        fi
    fi
    shift
    as postgres postgres -c listen_addresses='*' "$@"
    ;;
redis-server)
    shift
    as redis redis-server --protected-mode no "$@"
    ;;
*)
    exec "$@"
    ;;
esac
