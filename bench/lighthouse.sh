#!/usr/bin/env bash
# Lighthouse (desktop preset) on the demo shop's home, product and cart pages; the scores go into
# bench/README.md's Lighthouse section (between its markers) and the reports into test-artifacts/.
#
#   bench/lighthouse.sh            # VENV=.venv by default; VENV=/path/to/venv to use another
#
# Like scripts/run: SQLite in a fresh temporary instance folder, `flask seed-demo`, jobs inline. The
# app is served by gunicorn (gunicorn.conf.py) as in production. Lighthouse 12.2.3 (13 needs a newer
# Node) is installed from npm into bench/.lighthouse/node_modules (not committed) and drives
# Debian's Chromium (CHROME_PATH, default `which chromium`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
VENV="${VENV:-.venv}"
PORT="${PORT:-5099}"
LIGHTHOUSE_VERSION=12.2.3
export CHROME_PATH="${CHROME_PATH:-$(command -v chromium || command -v chromium-browser)}"

tools="$root/bench/.lighthouse"
if [[ ! -x "$tools/node_modules/.bin/lighthouse" ]] \
   || [[ "$(node -p "require('$tools/node_modules/lighthouse/package.json').version")" != "$LIGHTHOUSE_VERSION" ]]; then
  mkdir -p "$tools"
  [[ -f "$tools/package.json" ]] || echo '{"private": true}' > "$tools/package.json"
  npm install --prefix "$tools" --no-audit --no-fund --ignore-scripts "lighthouse@$LIGHTHOUSE_VERSION" >/dev/null
fi

instance="$(mktemp -d)"
export INSTANCE_PATH="$instance" FLASK_APP=app
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; rm -rf "$instance"; }
trap cleanup EXIT

"$VENV/bin/flask" db upgrade >/dev/null 2>&1
"$VENV/bin/flask" seed-demo >/dev/null
"$VENV/bin/gunicorn" --config gunicorn.conf.py --bind "127.0.0.1:$PORT" -k gthread --workers 1 --threads 8 "app:create_app()" \
  >"$instance/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 1 120); do curl -fs -o /dev/null "$base/" && break; sleep 0.5; done
curl -fs -o /dev/null "$base/" || { cat "$instance/server.log"; exit 1; }
product="$(curl -fs "$base/" | grep -o 'href="/p/[^"]*"' | head -1 | cut -d'"' -f2)"

mkdir -p test-artifacts
rows=""
for page in "home:/" "product:$product" "cart:/cart"; do
  name="${page%%:*}" path="${page#*:}"
  report="test-artifacts/lighthouse-$name.json"
  "$tools/node_modules/.bin/lighthouse" "$base$path" --preset=desktop --quiet \
    --only-categories=performance,accessibility,best-practices,seo \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" --output=json --output-path="$report"
  scores="$(node -e '
    const r = require(process.argv[1]); const c = r.categories;
    const s = (k) => Math.round(c[k].score * 100);
    console.log([s("performance"), s("accessibility"), s("best-practices"), s("seo")].join(" | "));' "$root/$report")"
  echo "$name ($path): performance | accessibility | best practices | SEO = $scores"
  rows+="| $name (\`$path\`) | $scores |"$'\n'
done

table="| page | performance | accessibility | best practices | SEO |"$'\n'"|---|---|---|---|---|"$'\n'"$rows"
stamp="$(date -u +%Y-%m-%d), Lighthouse $LIGHTHOUSE_VERSION, Chromium $("$CHROME_PATH" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1), desktop preset"
python3 - "$root/bench/README.md" "$table" "$stamp" <<'EOF'
import re, sys
path, table, stamp = sys.argv[1:]
text = open(path).read()
block = f"<!-- lighthouse:start -->\n{table}\n({stamp}.)\n<!-- lighthouse:end -->"
text = re.sub(r"<!-- lighthouse:start -->.*?<!-- lighthouse:end -->", lambda _: block, text, flags=re.S)
open(path, "w").write(text)
EOF
