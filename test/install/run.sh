#!/usr/bin/env bash
# Installs jobloom as a user would, outside the workspace: packs every package, makes a fresh npm project in a
# temporary directory, runs the README's install command on the tarballs, then (a) the README's first example with
# plain `node` on SQLite and on PostgreSQL, (b) `tsc --noEmit` on consumer.ts under strict settings, (c) the `jobloom`
# bin, and (d) checks that npm refuses Effect 4 and that a forced-in Effect 4 does not load.
# Needs the registry and PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
base_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
work="$(mktemp -d "${TMPDIR:-/tmp}/jobloom-install.XXXXXX")"
db="jobloom_install_$$_$RANDOM"
cleanup() {
  psql "$base_url" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export npm_config_nodedir="${npm_config_nodedir:-/usr}" npm_config_audit=false npm_config_fund=false
export npm_config_update_notifier=false
step() { printf '\n== install test: %s\n' "$*"; }

step "pack"
packages=(core store-sqlite store-postgres http)
[ -f "$root/packages/cli/package.json" ] && packages+=(cli)
mkdir -p "$work/tarballs"
for p in "${packages[@]}"; do
  (cd "$root/packages/$p" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done
for t in "$work"/tarballs/*.tgz; do
  files=$(tar tzf "$t" | wc -l)
  unpacked=$(tar xzf "$t" -O | wc -c)
  printf '  %-36s %7d bytes packed, %8d bytes unpacked, %3d files\n' "$(basename "$t")" "$(stat -c %s "$t")" \
    "$unpacked" "$files"
  if tar tzf "$t" | grep -Eq '(^|/)(test|tsconfig[^/]*\.json|\.tsbuildinfo)'; then
    echo "  $(basename "$t") ships tests or a tsconfig" >&2
    exit 1
  fi
done

# the README's blocks, as a reader copies them
readme_block() { # <section heading> <fence language>: the first such block under the heading
  node -e '
    const [heading, lang] = process.argv.slice(1)
    const text = require("fs").readFileSync(process.argv[3], "utf8")
    const section = text.split(/^## /m).find((s) => s.startsWith(heading + "\n"))
    const block = section && section.match(new RegExp("```" + lang + "\\n([\\s\\S]*?)```"))
    if (!block) { console.error(`README: no ${lang} block under ## ${heading}`); process.exit(1) }
    process.stdout.write(block[1])
  ' "$1" "$2" "$root/README.md"
}
install_line=$(readme_block "Install in your project" sh | grep '^npm install @jobloom/')
ts_line=$(readme_block "Install in your project" sh | grep '^npm install --save-dev' | sed 's/ *#.*//')
tsc_line=$(readme_block "Install in your project" sh | grep '^npx tsc')
run_line=$(readme_block "Install in your project" sh | grep '^node ' | sed 's/ *#.*//')
for p in "${packages[@]}"; do
  tgz=$(ls "$work"/tarballs/jobloom-"$p"-*.tgz)
  install_line=${install_line//"@jobloom/$p "/"$tgz "}
done

step "a fresh project: ${install_line//$work/\$work}"
mkdir "$work/app" && cd "$work/app"
npm init -y >/dev/null
start=$(date +%s)
timeout 600 bash -c "$install_line" >"$work/npm-install.log" 2>&1 || { tail -40 "$work/npm-install.log"; exit 1; }
echo "  installed in $(($(date +%s) - start)) s"

step "(a) the README's first example with plain node: SQLite, then PostgreSQL"
readme_block "jobloom in 20 lines" ts >example.mjs
out=$(env -u DATABASE_URL timeout 60 ${run_line})
echo "  $out"
grep -q "{ resized: 3 }" <<<"$out"
psql "$base_url" -qc "CREATE DATABASE $db" >/dev/null
pg_url="${base_url%/*}/$db"
out=$(DATABASE_URL="$pg_url" timeout 60 ${run_line})
echo "  $out"
grep -q "{ resized: 3 }" <<<"$out"
psql "$pg_url" -Atqc "SELECT count(*) FROM jobloom_jobs WHERE type = 'resize' AND status = 'SUCCEEDED'" | grep -qx 1

step "(b) tsc --noEmit on a consumer (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, no skipLibCheck)"
timeout 300 ${ts_line} >>"$work/npm-install.log" 2>&1
cp "$here/consumer.ts" "$here/tsconfig.json" .
timeout 300 ${tsc_line}
echo "  0 errors"

if [ -f "$here/cli.sh" ]; then
  step "(c) the jobloom bin"
  PG_URL="$pg_url" bash "$here/cli.sh" "$work/app"
fi

step "(d) Effect 4: npm refuses it; forced in, it does not load (the jobloom CLI names the version)"
mkdir "$work/effect4" && cd "$work/effect4"
npm init -y >/dev/null
core_tgz=$(ls "$work"/tarballs/jobloom-core-*.tgz)
if timeout 300 npm install "$core_tgz" effect@4 >"$work/effect4.log" 2>&1; then
  echo "  npm installed effect 4 next to @jobloom/core" >&2
  exit 1
fi
grep -q "ERESOLVE" "$work/effect4.log"
grep -Eo 'peer effect@"[^"]*"' "$work/effect4.log" | head -1 | sed 's/^/  refused: /'
# forced in anyway, Node fails while linking (effect 4 has no effect/Either) before any jobloom code runs; the
# version check in @jobloom/core names it only where the modules still link, and the CLI names it always
timeout 300 npm install --force "$core_tgz" effect@4 >>"$work/effect4.log" 2>&1
if out=$(node -e 'import("@jobloom/core")' 2>&1); then
  echo "  @jobloom/core loaded on effect 4" >&2
  exit 1
fi
grep -m1 -E "jobloom needs Effect 3|ERR_MODULE_NOT_FOUND" <<<"$out" | sed 's/^/  forced: /'

printf '\ninstall test: passed\n'
