#!/bin/sh
# One PostgreSQL backup: pg_dump in custom format (-Fc, compressed, restorable table by table with
# deploy/restore.sh) into BACKUP_DIR, keeping the newest BACKUP_KEEP. The compose `backup` service
# runs it every BACKUP_INTERVAL_S; see docs/deploy.md "Backups".
#
#   backup.sh [DATABASE_URL]   back up the database the URL names; without one, the one libpq's
#                              PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE name
#   backup.sh --check [MAX_AGE_S]
#                              exit 0 if the newest backup is younger than MAX_AGE_S (default:
#                              BACKUP_MAX_AGE_S, else two days): the service's health check
#
# BACKUP_DIR (default /backups), BACKUP_KEEP (default 14), BACKUP_PREFIX (default arena): files are
# BACKUP_DIR/BACKUP_PREFIX-<UTC time>.dump. A dump is written under a temporary name and renamed only
# once pg_dump succeeded and pg_restore can read it back, so a failed run leaves no file that looks
# like a backup and never removes an older one.
set -eu

BACKUP_DIR=${BACKUP_DIR:-/backups}
BACKUP_KEEP=${BACKUP_KEEP:-14}
BACKUP_PREFIX=${BACKUP_PREFIX:-arena}

fail() {
    echo "backup.sh: $*" >&2
    exit 1
}

case $BACKUP_KEEP in
    '' | *[!0-9]*) fail "BACKUP_KEEP must be a whole number, not '$BACKUP_KEEP'" ;;
esac
[ "$BACKUP_KEEP" -ge 1 ] || fail "BACKUP_KEEP must be at least 1"

newest() {
    # Names sort by time (UTC, fixed width), so the last one is the newest.
    ls -1 "$BACKUP_DIR" 2>/dev/null | grep -E "^$BACKUP_PREFIX-[0-9]{8}T[0-9]{6}Z\.dump\$" | sort | tail -n "${1:-1}"
}

if [ "${1:-}" = "--check" ]; then
    max_age=${2:-${BACKUP_MAX_AGE_S:-172800}}
    latest=$(newest)
    [ -n "$latest" ] || fail "no backup in $BACKUP_DIR yet"
    # find -mmin counts whole minutes; round the allowed age up rather than fail a fresh backup.
    minutes=$(((max_age + 59) / 60))
    if [ -z "$(find "$BACKUP_DIR/$latest" -mmin "-$minutes")" ]; then
        fail "the newest backup, $latest, is older than $max_age s"
    fi
    echo "backup.sh: newest backup $latest"
    exit 0
fi

mkdir -p "$BACKUP_DIR"
# One backup a second at most: the names stay in time order, which is what pruning goes by.
while name="$BACKUP_PREFIX-$(date -u +%Y%m%dT%H%M%SZ).dump" && [ -e "$BACKUP_DIR/$name" ]; do
    sleep 1
done
partial="$BACKUP_DIR/.$name.partial"
trap 'rm -f "$partial"' EXIT
trap 'exit 1' INT TERM

if [ -n "${1:-}" ]; then
    pg_dump --format=custom --file="$partial" --dbname="$1"
else
    pg_dump --format=custom --file="$partial"
fi
pg_restore --list "$partial" >/dev/null || fail "pg_restore cannot read the new dump; kept the old backups"
mv "$partial" "$BACKUP_DIR/$name"
trap - EXIT
echo "backup.sh: wrote $BACKUP_DIR/$name ($(wc -c <"$BACKUP_DIR/$name") bytes)"

# Only now that a good backup exists are the ones past the newest BACKUP_KEEP removed.
count=$(newest 1000000 | wc -l)
if [ "$count" -gt "$BACKUP_KEEP" ]; then
    newest 1000000 | head -n "$((count - BACKUP_KEEP))" | while read -r old; do
        rm -f "$BACKUP_DIR/$old"
        echo "backup.sh: removed $old (keeping $BACKUP_KEEP)"
    done
fi
