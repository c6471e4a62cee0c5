#!/usr/bin/env bash
# Lets the local PostgreSQL primary feed a streaming replica over 127.0.0.1, for the analytics replica tests
# (tests/integration/test_analytics_replica.py): a replication entry in pg_hba.conf (trust, like the test
# server's other local entries) and WAL settings that allow a standby. Prints the server binaries' directory.
# Fails if replication cannot be made possible.
set -euo pipefail

version="$(ls /etc/postgresql | sort -V | tail -n 1)"
bindir="/usr/lib/postgresql/$version/bin"
hba="/etc/postgresql/$version/main/pg_hba.conf"
sql() { psql -h 127.0.0.1 -U postgres -d postgres -Atqc "$1"; }

for binary in pg_basebackup pg_ctl postgres; do
  [ -x "$bindir/$binary" ] || { echo "$bindir/$binary is missing; failing CI" >&2; exit 1; }
done

if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  printf '%s\n' "host replication all 127.0.0.1/32 trust" >> "$hba"
  sql "SELECT pg_reload_conf()" >/dev/null
fi

if [ "$(sql 'SHOW wal_level')" = "minimal" ] || [ "$(sql 'SHOW max_wal_senders')" -lt 2 ]; then
  sql "ALTER SYSTEM SET wal_level = 'replica'" >/dev/null
  sql "ALTER SYSTEM SET max_wal_senders = 10" >/dev/null
  pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

# A replication connection must now be accepted.
psql "host=127.0.0.1 user=postgres replication=true" -Atqc "IDENTIFY_SYSTEM" >/dev/null ||
  { echo "PostgreSQL refuses replication connections from 127.0.0.1; failing CI" >&2; exit 1; }
echo "$bindir"
