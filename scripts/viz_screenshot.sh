#!/usr/bin/env bash
# Screenshot of the kedro-viz flowchart for the README (docs/images/kedro-viz.png):
# builds the static site, serves it on 127.0.0.1 and photographs it with headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/images/kedro-viz.png}
port=${VIZ_SCREENSHOT_PORT:-8767}
export KEDRO_DISABLE_TELEMETRY=true
.venv/bin/kedro viz build >/dev/null
# a page on the site's origin that turns off kedro-viz's feature tour, then opens the flowchart
cat > build/prime.html <<'HTML'
<!doctype html><script>localStorage.setItem("KedroViz", JSON.stringify({showFeatureHints: false})); location.replace("./");</script>
HTML
.venv/bin/python -m http.server "$port" --bind 127.0.0.1 -d build >/dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 1
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1600,1000 --virtual-time-budget=25000 \
  --screenshot="$out" "http://127.0.0.1:$port/prime.html" 2>/dev/null
rm -rf "$profile"
echo "wrote $out"
