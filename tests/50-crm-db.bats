#!/usr/bin/env bats
# crm-db: migrations (from empty, re-applied, failing, concurrent) against a
# throwaway PostgreSQL, and the embedded cluster's life cycle
# (init/start/stop/status/backup/restore/destroy) as root and as a normal user.

load helper

setup_file() {
	load pg
	pg_start
}

teardown_file() {
	load pg
	pg_stop
}

setup() {
	load pg
	# each test gets an empty database of its own
	DB=t$BATS_SUITE_TEST_NUMBER
	pg_fresh_db "$DB"
}

# a fresh CRM_HOME the server user can reach (or not, with private=1)
new_home() {
	local d
	if [ "${1:-}" = private ]; then d=$(mktemp -d /tmp/crmdbp.XXXXXX)
	else d=$(mktemp -d /tmp/crmdb.XXXXXX); chmod 755 "$d"
	fi
	echo "$d"
}

# run crm-db on the embedded cluster of $1 (no PG* variables)
embedded() {
	local h=$1
	shift
	env -u PGHOST -u PGUSER -u PGDATABASE -u PGPORT CRM_HOME="$h/home" crm-db "$@"
}

cleanup_home() {
	embedded "$1" destroy --yes >/dev/null 2>&1 || true
	rm -rf "$1"
}

tables() {
	pg_q "select string_agg(tablename, ' ' order by tablename) from pg_tables where schemaname = 'public'"
}

@test "migrate on an empty database creates every table and records each migration" {
	run crm-db migrate
	[ "$status" -eq 0 ]
	[[ "$output" == *"applied: 001_people.sql 002_mail.sql"* ]]
	[[ "$output" == *"schema at version"* ]]
	for t in users teams organisations people mail_accounts sync_state sync_seen \
	    interactions email_threads autofill_suggestions autofill_runs autofill_changes \
	    ai_feedback ai_accuracy_metrics ai_user_preferences routing_rules \
	    data_access_logs job_runs llm_cache enrichment_cache schema_migrations; do
		[[ " $(tables) " == *" $t "* ]] || { echo "missing table $t"; return 1; }
	done
	n=$(ls "$CRM_TOP"/sql/[0-9][0-9][0-9]_*.sql | wc -l)
	[ "$(pg_q 'select count(*) from schema_migrations')" -eq "$n" ]
	[ "$(pg_q 'select count(distinct version) from schema_migrations')" -eq "$n" ]
}

@test "timestamps are timestamptz everywhere" {
	crm-db -q migrate
	run pg_q "select table_name || '.' || column_name from information_schema.columns
	    where table_schema = 'public' and data_type like 'timestamp without%'"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "migrate again applies nothing; re-running every file by hand changes no schema" {
	crm-db -q migrate
	before=$(pg_dump -s "$DB" | grep -v "^\\\\\(un\)\?restrict")
	run crm-db migrate
	[ "$status" -eq 0 ]
	[[ "$output" != *"applied:"* ]]
	for f in "$CRM_TOP"/sql/[0-9][0-9][0-9]_*.sql; do
		psql -qX -v ON_ERROR_STOP=1 -c 'set client_min_messages = warning' -f "$f" >/dev/null ||
		    { echo "re-running $f failed"; return 1; }
	done
	after=$(pg_dump -s "$DB" | grep -v "^\\\\\(un\)\?restrict")
	[ "$before" = "$after" ]
}

@test "a failing migration is rolled back, not recorded, and exits 3" {
	d=$BATS_TEST_TMPDIR/sql
	mkdir -p "$d"
	cp "$CRM_TOP"/sql/*.sql "$d"/
	printf 'create table half_done (x int);\nselect 1/0;\n' >"$d/099_broken.sql"
	CRM_SQL_DIR=$d run crm-db migrate
	[ "$status" -eq 3 ]
	[[ "$output" == *"division by zero"* ]]
	[[ "$output" == *"migration failed"* ]]
	[ "$(pg_q "select to_regclass('half_done') is null")" = t ]
	[ "$(pg_q 'select count(*) from schema_migrations where version = 99')" = 0 ]
	# the good ones before it were applied
	[ "$(pg_q 'select count(*) from schema_migrations where version = 1')" = 1 ]
}

@test "two migrations started at once both succeed and apply each file once" {
	crm-db -q migrate &
	crm-db -q migrate &
	wait %1
	wait %2
	n=$(ls "$CRM_TOP"/sql/[0-9][0-9][0-9]_*.sql | wc -l)
	[ "$(pg_q 'select count(*) from schema_migrations')" -eq "$n" ]
}

@test "CRM_DATABASE_URL wins over PG*, and a password in it works without showing" {
	crm-db -q migrate
	url="postgresql://crm:s3cr%2Fet@/$DB?host=$PGHOST"
	CRM_DATABASE_URL=$url PGDATABASE=nonexistent run crm-db psql -qAtX -c 'select current_database()'
	[ "$status" -eq 0 ]
	[ "$output" = "$DB" ]
	CRM_DATABASE_URL="postgresql://crm:s3cret@/nosuchdb?host=$PGHOST" run crm-db migrate
	[ "$status" -eq 3 ]
	[[ "$output" == *nosuchdb* ]]
	[[ "$output" != *s3cret* ]]
}

@test "usage errors exit 2" {
	run crm-db
	[ "$status" -eq 2 ]
	[[ "$output" == usage:* ]]
	run crm-db frobnicate
	[ "$status" -eq 2 ]
	run crm-db destroy
	[ "$status" -eq 2 ]
	[[ "$output" == *"--yes"* ]]
	run crm-db backup --keep 0
	[ "$status" -eq 2 ]
	run crm-db --no-such-option status
	[ "$status" -eq 2 ]
	run crm-db --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
}

@test "embedded cluster: init, status, stop, start on demand, durable, socket only" {
	h=$(new_home)
	run embedded "$h" status
	[ "$status" -eq 3 ]
	[[ "$output" == *"cluster:  none"* ]]
	run embedded "$h" init
	[ "$status" -eq 0 ] || { echo "$output"; cleanup_home "$h"; return 1; }
	run embedded "$h" status
	[ "$status" -eq 0 ]
	[[ "$output" == *"state:    running"* ]]
	[[ "$output" =~ schema:\ +version\ ([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -ge 4 ]
	[ "$(embedded "$h" psql -qAtX -c 'show fsync')" = on ]
	[ "$(embedded "$h" psql -qAtX -c 'show synchronous_commit')" = on ]
	[ -z "$(embedded "$h" psql -qAtX -c 'show listen_addresses')" ]
	sock=$(cat "$h/home/socket-dir")
	[ "$(stat -c %a "$sock")" = 700 ]
	run embedded "$h" stop
	[ "$status" -eq 0 ]
	run embedded "$h" status
	[ "$status" -eq 3 ]
	[[ "$output" == *"state:    stopped"* ]]
	# psql (like every program) starts it on demand
	run embedded "$h" psql -qAtX -c 'select 42'
	[ "$status" -eq 0 ]
	[[ "$output" == *42* ]]
	# init again: nothing lost, nothing redone
	embedded "$h" psql -qAtX -c "insert into teams (name) values ('keep me')"
	run embedded "$h" init
	[ "$status" -eq 0 ]
	[[ "$output" == *"already initialised"* ]]
	[ "$(embedded "$h" psql -qAtX -c 'select name from teams')" = "keep me" ]
	cleanup_home "$h"
}

@test "embedded cluster: backup with rotation, restore replaces the contents" {
	h=$(new_home)
	embedded "$h" -q init
	embedded "$h" psql -qAtX -c "insert into teams (name) values ('alpha')"
	b1=$(embedded "$h" backup --keep 2)
	[ -s "$b1" ]
	[[ "$b1" == "$h/home/backups/crm-"*Z.dump ]]
	embedded "$h" psql -qAtX -c "insert into teams (name) values ('beta')"
	sleep 1.1
	b2=$(embedded "$h" backup --keep 2)
	sleep 1.1
	b3=$(embedded "$h" backup --keep 2)
	[ "$(ls "$h/home/backups" | wc -l)" -eq 2 ]
	[ ! -e "$b1" ]
	[ -e "$b2" ] && [ -e "$b3" ]
	ls "$h/home/backups" | grep -v '\.tmp$' >/dev/null
	embedded "$h" psql -qAtX -c "delete from teams" -c "insert into teams (name) values ('gamma')"
	run embedded "$h" restore "$b2"
	[ "$status" -eq 0 ]
	[ "$(embedded "$h" psql -qAtX -c 'select string_agg(name, $$,$$ order by name) from teams')" = "alpha,beta" ]
	run embedded "$h" restore /nonexistent.dump
	[ "$status" -eq 3 ]
	[[ "$output" == *"/nonexistent.dump"* ]]
	cleanup_home "$h"
}

@test "as root with a CRM_HOME the server user cannot enter, the cluster lives elsewhere and works" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	h=$(new_home private)
	run embedded "$h" init
	[ "$status" -eq 0 ] || { echo "$output"; cleanup_home "$h"; return 1; }
	[[ "$output" == *"cannot enter"* ]]
	[ -L "$h/home/pg" ]
	far=$(readlink -f "$h/home/pg")
	[ "$(stat -c %U "$far/data")" = postgres ]
	[ "$(embedded "$h" psql -qAtX -c 'select count(*) > 0 from schema_migrations')" = t ]
	embedded "$h" destroy --yes
	[ ! -e "$far" ]
	[ ! -e "$h/home/pg" ]
	rm -rf "$h"
}

@test "as a normal user the cluster is the user's own and other users are refused" {
	[ "$(id -u)" = 0 ] || skip "needs root to switch users"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	h=$(new_home)
	chown nobody: "$h"
	as_nobody() {
		runuser -u nobody -- env -u PGHOST -u PGUSER -u PGDATABASE PATH="$PATH" \
		    CRM_DATADIR="$CRM_DATADIR" CRM_HOME="$h/home" HOME="$h" crm-db "$@"
	}
	run as_nobody init
	[ "$status" -eq 0 ] || { echo "$output"; rm -rf "$h"; return 1; }
	[ "$(stat -c %U "$h/home/pg/data")" = nobody ]
	[ "$(as_nobody psql -qAtX -c 'select session_user')" = crm ]
	# root is not the owner: peer authentication refuses it
	run psql -h "$(cat "$h/home/socket-dir")" -U crm -d crm -qAtX -c 'select 1'
	[ "$status" -ne 0 ]
	[[ "$output" == *"authentication failed"* ]]
	as_nobody destroy --yes
	rm -rf "$h"
}
