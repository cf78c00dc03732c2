#!/usr/bin/env bash
# Make sure a local PostgreSQL server with PostGIS runs, this user has a role in it, and a
# template database with PostGIS exists (so databases can be cloned without superuser rights).
# With DATABASE_URL set, the given server is used as it is and nothing here runs.
# Usage: scripts/ensure-postgis.sh [DBNAME ...]   (creates these databases from the template)
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ]; then
  echo "ensure-postgis: DATABASE_URL is set; using that server as it is."
  exit 0
fi

SOCKET_DIR=/var/run/postgresql
TEMPLATE=heritage_template
ME=$(id -un)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else echo "ensure-postgis: needs root (or sudo) to run: $*" >&2; return 1; fi
}
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
apt_install() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. The server packages.
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "ensure-postgis: installing PostgreSQL (apt-get)..."
  command -v apt-get >/dev/null 2>&1 || { echo "ensure-postgis: no apt-get here; install PostgreSQL with PostGIS yourself, or set DATABASE_URL." >&2; exit 1; }
  apt_install postgresql
fi
MAJOR=$(ls /usr/lib/postgresql | sort -n | tail -1)
if [ ! -f "/usr/share/postgresql/$MAJOR/extension/postgis.control" ]; then
  echo "ensure-postgis: installing PostGIS for PostgreSQL $MAJOR (apt-get)..."
  apt_install "postgresql-$MAJOR-postgis-3"
fi

# 2. A running cluster.
if [ -z "$(pg_lsclusters -h 2>/dev/null | awk -v m="$MAJOR" '$1==m')" ]; then
  echo "ensure-postgis: creating cluster $MAJOR/main..."
  as_root pg_createcluster "$MAJOR" main >/dev/null
fi
CLUSTER=$(pg_lsclusters -h | awk -v m="$MAJOR" '$1==m {print $2; exit}')
if ! pg_lsclusters -h | awk -v m="$MAJOR" -v c="$CLUSTER" '$1==m && $2==c {print $4}' | grep -q online; then
  echo "ensure-postgis: starting cluster $MAJOR/$CLUSTER..."
  as_root pg_ctlcluster --skip-systemctl-redirect "$MAJOR" "$CLUSTER" start
fi
for _ in $(seq 1 30); do pg_isready -q -h "$SOCKET_DIR" && break; sleep 0.5; done
pg_isready -q -h "$SOCKET_DIR" || { echo "ensure-postgis: server does not answer on $SOCKET_DIR" >&2; exit 1; }

# 3. A role for this user (local development: superuser, so it can create PostGIS itself).
if ! psql -h "$SOCKET_DIR" -d postgres -tAc "select 1" >/dev/null 2>&1; then
  echo "ensure-postgis: creating database role $ME..."
  as_postgres psql -q -h "$SOCKET_DIR" -d postgres -c "CREATE ROLE \"$ME\" LOGIN SUPERUSER" >/dev/null
fi
q() { psql -h "$SOCKET_DIR" -d postgres -qtAc "$1"; }

# 4. The PostGIS template, then the requested databases.
if [ -z "$(q "select 1 from pg_database where datname = '$TEMPLATE'")" ]; then
  echo "ensure-postgis: creating template database $TEMPLATE with PostGIS..."
  q "CREATE DATABASE $TEMPLATE" >/dev/null
  psql -h "$SOCKET_DIR" -d "$TEMPLATE" -qtAc "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  q "ALTER DATABASE $TEMPLATE IS_TEMPLATE true" >/dev/null
fi
for db in "$@"; do
  if [ -z "$(q "select 1 from pg_database where datname = '$db'")" ]; then
    echo "ensure-postgis: creating database $db..."
    q "CREATE DATABASE \"$db\" TEMPLATE $TEMPLATE" >/dev/null
  fi
done
