#!/bin/sh
# Temporal's two databases on the compose PostgreSQL: created if missing, schema brought to
# the version this admin-tools image ships. Safe to run on every `docker compose up`.
set -eu

sql() {
  temporal-sql-tool --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "$DB_PORT" \
    --user "$POSTGRES_USER" --database "$1" "$2" ${3:+"$3"} ${4:+"$4"}
}

for database in temporal temporal_visibility; do
  case "$database" in
    temporal) versions=/etc/temporal/schema/postgresql/v12/temporal/versioned ;;
    *) versions=/etc/temporal/schema/postgresql/v12/visibility/versioned ;;
  esac
  echo "database $database"
  sql "$database" create-database || echo "  (exists)"
  sql "$database" setup-schema -v 0.0
  sql "$database" update-schema -d "$versions"
done
echo "temporal schema ready"
