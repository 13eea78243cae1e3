#!/usr/bin/env bash
# The manager store against a real PostgreSQL cluster created here (initdb +
# pg_ctl as the postgres user, 127.0.0.1 on a free port, stopped on exit):
# the store unit test suite, then the daemon with MANAGER_STORAGE_TYPE=postgres
# keeping a task and its result across a restart.
# usage: manager_store_pg.sh <test_manager_store> <propeller-manager>
STORE_TEST=${1:?usage: manager_store_pg.sh <test_manager_store> <propeller-manager>}
MANAGER_BIN=${2:?usage}
# shellcheck source=tests/integration/manager_lib.sh
. "$(dirname "$0")/manager_lib.sh"

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/initdb" ] || fail "PostgreSQL 15 binaries not found in $PGBIN"
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

PG_PORT=$(free_port)
PGDATA=$TMP/pgdata
chmod 0755 "$TMP"
mkdir -p "$PGDATA"
[ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
	>"$TMP/initdb.log" 2>&1 || fail "initdb failed"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/postgres.log" -w -t 30 \
	-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PGDATA -c fsync=off" \
	start >/dev/null || fail "pg_ctl start failed"
pg_stop() {
	as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
}
trap 'pg_stop; cleanup' EXIT
as_pg "$PGBIN/psql" -h "$PGDATA" -p "$PG_PORT" -U postgres -q \
	-c "CREATE USER propeller PASSWORD 'propeller'" \
	-c "CREATE DATABASE propeller OWNER propeller" >/dev/null || fail "create database"
ok "PostgreSQL cluster on 127.0.0.1:$PG_PORT"

MANAGER_TEST_PG_CONNINFO="host=127.0.0.1 port=$PG_PORT user=propeller password=propeller dbname=propeller" \
	"$STORE_TEST" || fail "store suite against PostgreSQL"
ok "store suite against PostgreSQL"

PGENV=(MANAGER_STORAGE_TYPE=postgres MANAGER_POSTGRES_HOST=127.0.0.1
	MANAGER_POSTGRES_PORT="$PG_PORT")
start_broker
start_manager "${PGENV[@]}"
heartbeat
api POST /tasks '{"name":"pg","file":"AGFzbQEAAAA=","inputs":[1]}'
expect_code 201 "create on postgres"
TASK=$(jget .id)
sleep 0.2
api POST "/tasks/$TASK/start"
expect_code 200 "start on postgres"
proplet_pub control/proplet/results "{\"task_id\":\"$TASK\",\"results\":\"1\",\"error\":null}"
done_() {
	api GET "/tasks/$TASK"
	[ "$(jget .state)" = 3 ]
}
wait_for done_ || fail "result on postgres: $RESP"
stop_manager
start_manager "${PGENV[@]}"
api GET "/tasks/$TASK"
expect_code 200 "after restart"
[ "$(jget .results)" = 1 ] && [ "$(jget .state)" = 3 ] || fail "lost: $RESP"
api GET "/proplets/$PROPLET_ID"
expect_code 200 "proplet kept"
stop_manager
ok "daemon on PostgreSQL keeps tasks and results across restart"

# A bad password is a clear startup error.
if env MANAGER_MQTT_ADDRESS="tcp://127.0.0.1:$MQ_PORT" MANAGER_TENANT_ID=t \
	MANAGER_ENTITY_ID=e MANAGER_API_KEY=k MANAGER_CHANNEL_ID=c \
	MANAGER_STORAGE_TYPE=postgres MANAGER_POSTGRES_HOST=127.0.0.1 \
	MANAGER_POSTGRES_PORT="$PG_PORT" MANAGER_POSTGRES_PASS=wrong \
	MANAGER_HTTP_PORT="$(free_port)" "$MANAGER_BIN" >"$TMP/bad.log" 2>&1; then
	fail "manager started with a wrong database password"
fi
grep -q "postgres connect" "$TMP/bad.log" || fail "unclear error: $(cat "$TMP/bad.log")"
ok "wrong database password refused clearly"
echo "all PostgreSQL checks passed"
