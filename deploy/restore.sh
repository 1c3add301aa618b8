#!/bin/sh
# Restore a backup made by deploy/backup.sh into a database, replacing what it holds of the dumped
# objects: pg_restore --clean --if-exists, in one transaction (all or nothing), stopping at the first
# error. Stop everything that writes to the database first (docs/deploy.md "Restoring").
#
#   restore.sh FILE [DATABASE_URL]
#
# Without a URL, the database libpq's PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE name.
# Objects are owned by the user restoring (--no-owner), so a dump restores under another role too.
set -eu

[ $# -ge 1 ] && [ $# -le 2 ] || {
    echo "usage: restore.sh FILE [DATABASE_URL]" >&2
    exit 2
}
file=$1
[ -r "$file" ] || {
    echo "restore.sh: cannot read $file" >&2
    exit 1
}
if [ $# -eq 2 ]; then
    set -- --dbname="$2"
else
    set -- --dbname="${PGDATABASE:-${PGUSER:-postgres}}"
fi
pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error "$@" "$file"
echo "restore.sh: restored $file"
