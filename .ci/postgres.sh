#!/usr/bin/env bash
# Starts the machine's PostgreSQL 15 for the tests and prints, as shell
# `export` lines, how to reach it: a role made for the tests with a password
# made up on its first run, and a CA that signs the server's certificate (for the
# sslmode=verify-ca/verify-full tests). Usage: eval "$(.ci/postgres.sh)".
#
# Needs root (or the postgres user's sudo) to start the cluster and set up
# its certificate; everything it writes lives outside the repository.
set -euo pipefail

cluster_version=15
cluster_name=main
dir=${TRACEFLOW_PG_DIR:-/tmp/traceflow-pg-ci}
role=traceflow_test

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"
  else sudo -u postgres "$@"
  fi
}

mkdir -p "$dir"
chmod 755 "$dir"

# A CA and a server certificate for localhost, 127.0.0.1 and ::1.
if [ ! -f "$dir/server.crt" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=traceflow test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 30 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  # A second CA that signed nothing here: verify-full against it must fail.
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=some other CA" \
    -keyout "$dir/other-ca.key" -out "$dir/other-ca.crt" 2>/dev/null
  chown postgres:postgres "$dir/server.key" "$dir/server.crt" 2>/dev/null || true
  chmod 600 "$dir/server.key"
fi

if ! pg_lsclusters -h | awk -v v="$cluster_version" -v n="$cluster_name" '$1==v && $2==n && $4=="online" {found=1} END {exit !found}'; then
  pg_ctlcluster "$cluster_version" "$cluster_name" start >&2
fi

# The role's password is made up on the first run and kept (readable by
# root only) so that a second run does not cut off a test or benchmark that
# is using the first one's.
if [ ! -s "$dir/password" ]; then
  (umask 077; openssl rand -hex 16 >"$dir/password")
fi
password=$(cat "$dir/password")
as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres >&2 <<SQL
ALTER SYSTEM SET ssl = on;
ALTER SYSTEM SET ssl_cert_file = '$dir/server.crt';
ALTER SYSTEM SET ssl_key_file = '$dir/server.key';
SELECT pg_reload_conf();
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN CREATEDB CREATEROLE;
  END IF;
END\$\$;
ALTER ROLE $role PASSWORD '$password';
SQL

port=$(pg_lsclusters -h | awk -v v="$cluster_version" -v n="$cluster_name" '$1==v && $2==n {print $3}')
echo "export TRACEFLOW_TEST_PG='postgres://$role:$password@localhost:$port/postgres'"
echo "export TRACEFLOW_TEST_PG_CA='$dir/ca.crt'"
echo "export TRACEFLOW_TEST_PG_OTHER_CA='$dir/other-ca.crt'"
