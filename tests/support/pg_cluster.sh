#!/bin/bash
# A throw-away PostgreSQL cluster for the index tests (docs/server.md "PostgreSQL", tests/CMakeLists.txt
# fixture "pg", tests/integration/test_server_postgresql.py):
#
#   pg_cluster.sh start STATE    initdb into a new /tmp/dvpg.XXXXXX, start it listening on a unix socket in
#                                that directory only (no TCP port: nothing to collide with), write STATE
#                                (shell lines PGDIR=... and URL=postgresql://...)
#   pg_cluster.sh stop STATE     stop it (immediate) and remove the directory and STATE
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to the 'postgres' user (made by Debian's
# postgresql-common; 'nobody' when missing) and its commands run through runuser. Missing binaries are an
# error, never a skip: `make deps` installs them.
set -euo pipefail
cmd=${1:?start|stop}
state=${2:?state file}

if [[ $cmd == stop ]]; then
    [[ -f $state ]] || exit 0
    # shellcheck disable=SC1090
    source "$state"
    if [[ -n ${PGDIR:-} && -d $PGDIR ]]; then
        run=()
        [[ $(id -u) == 0 ]] && run=(runuser -u "$(stat -c %U "$PGDIR")" --)
        "${run[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$PGDIR"
    fi
    rm -f "$state"
    exit 0
fi

[[ $cmd == start ]] || { echo "usage: $0 start|stop STATE" >&2; exit 2; }
# A state file left by a run that was killed: stop its cluster first.
[[ -f $state ]] && "$0" stop "$state"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z $PGBIN || ! -x $PGBIN/initdb ]]; then
    echo "pg_cluster: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin" \
         "(install the Debian package 'postgresql': make deps)" >&2
    exit 1
fi
PGDIR=$(mktemp -d /tmp/dvpg.XXXXXX)
run=()
if [[ $(id -u) == 0 ]]; then
    owner=postgres
    id -u postgres >/dev/null 2>&1 || owner=nobody
    chown "$owner" "$PGDIR"
    run=(runuser -u "$owner" --)
fi
printf 'PGDIR=%q\nPGBIN=%q\nURL=%q\n' "$PGDIR" "$PGBIN" \
    "postgresql:///postgres?host=$PGDIR&port=5432&user=postgres" > "$state"
cd "$PGDIR"
if ! "${run[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust --encoding=UTF8 --locale=C \
        --no-sync >"$PGDIR/initdb.log" 2>&1; then
    cat "$PGDIR/initdb.log" >&2
    exit 1
fi
# fsync off: a test cluster that dies is thrown away anyway.
if ! "${run[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
        -o "-k $PGDIR -c listen_addresses= -p 5432 -c fsync=off -c max_connections=100" start >/dev/null; then
    cat "$PGDIR/server.log" >&2
    exit 1
fi
