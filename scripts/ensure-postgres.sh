#!/usr/bin/env bash
# The PostgreSQL runs of the test suite (TEST_DATABASE=postgresql, see the Makefile) start a
# throwaway cluster of Debian's PostgreSQL on a loopback port (tests/support/postgres.py).
# Idempotent: does nothing when initdb is there, else installs Debian's package.
set -euo pipefail
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && exit 0
echo "ensure-postgres: PostgreSQL is missing; installing Debian's postgresql package" >&2
bash "$(dirname "$0")/debian-install.sh" postgresql
# Debian's package starts a cluster of its own; the tests use their own, so stop it.
service postgresql stop >/dev/null 2>&1 || sudo -n service postgresql stop >/dev/null 2>&1 || true
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || {
    echo "ensure-postgres: installed, but initdb is still missing" >&2
    exit 1
}
