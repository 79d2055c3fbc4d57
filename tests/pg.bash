# pg.bash — a throwaway PostgreSQL cluster for a bats file.
#   setup_file()    { load pg; pg_start; }
#   teardown_file() { pg_stop; }
# pg_start exports PGHOST (a Unix socket directory), PGUSER=crm,
# PGDATABASE=crm; no TCP.  Runs as the postgres user when we are root
# (initdb refuses root).  Durable settings are off: tests only.

pg_bindir() {
	local d
	d=$(pg_config --bindir 2>/dev/null)
	[ -x "$d/initdb" ] || d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	echo "$d"
}

pg_start() {
	local bin as=""
	bin=$(pg_bindir)
	PG_DIR=$(mktemp -d /tmp/crmpg.XXXXXX)
	export PG_DIR
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$PG_DIR"
		chmod 755 "$PG_DIR"
		as="runuser -u postgres --"
	fi
	$as "$bin/initdb" -D "$PG_DIR/data" -A trust -U crm --no-sync -E UTF8 \
	    --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
	$as "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o "-k $PG_DIR \
	    -c listen_addresses='' -c fsync=off -c synchronous_commit=off \
	    -c full_page_writes=off -c max_connections=50" start >/dev/null 3>&- ||
	    { cat "$PG_DIR/log" >&2; return 1; }
	export PGHOST="$PG_DIR" PGUSER=crm PGDATABASE=crm
	unset PGPORT PGSERVICE CRM_DATABASE_URL
	psql -d postgres -qAtc 'create database crm' >/dev/null
}

pg_stop() {
	local bin as=""
	[ -n "${PG_DIR:-}" ] || return 0
	bin=$(pg_bindir)
	[ "$(id -u)" = 0 ] && as="runuser -u postgres --"
	$as "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$PG_DIR"
}

# pg_fresh_db NAME: an empty database NAME on the cluster, made the one
# in use (PGDATABASE)
pg_fresh_db() {
	PGOPTIONS='-c client_min_messages=warning' psql -d postgres -qAtc "drop database if exists $1" \
	    -c "create database $1" >/dev/null || return 1
	export PGDATABASE=$1
}

# run SQL, print unaligned tuples
pg_q() {
	psql -qAtX -v ON_ERROR_STOP=1 -c "$1"
}
