#!/bin/sh
# The shop's own role and database beside Temporal's, made once: the postgres image runs the scripts of
# /docker-entrypoint-initdb.d when it first fills an empty volume (docker-compose.yml mounts this one there).
# The role is no superuser and owns only its database, so the shop's credentials cannot reach Temporal's data.
set -eu
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v password="$PIZZERIA_DB_PASSWORD" <<'SQL'
CREATE ROLE pizzeria LOGIN PASSWORD :'password';
CREATE DATABASE pizzeria OWNER pizzeria;
REVOKE ALL ON DATABASE pizzeria FROM PUBLIC;
SQL
