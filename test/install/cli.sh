#!/usr/bin/env bash
# Part (c) of the install test: the `jobloom` bin as npm links it in a user's project (run by run.sh in that project).
# $1: the project; PG_URL: a PostgreSQL database for it.
set -euo pipefail
cd "$1"
jobloom=./node_modules/.bin/jobloom
"$jobloom" --help | head -1
"$jobloom" migrate --database ./cli.db
"$jobloom" migrate --database "$PG_URL"
"$jobloom" jobs list --database "$PG_URL" | head -3
set +e
out=$(DATABASE_URL=notaurl "$jobloom" jobs list 2>&1)
code=$?
set -e
echo "  DATABASE_URL=notaurl: exit $code: $out"
[ "$code" = 2 ] && grep -q "is not a PostgreSQL URL" <<<"$out"
# start-up time of `jobloom serve` (built JavaScript) to its first answer
here="$(dirname "$0")"
for _ in 1 2 3; do
  JOBLOOM_DB=./serve.db node "$here/../startup/answer.mjs" "$jobloom" serve | sed 's/^/  jobloom serve: /'
done
