#!/usr/bin/env bash
# The storefront and the control room in a real browser: Debian's chromium, driven by
# Playwright's library (playwright-core; it never downloads a browser), against the running
# shop (`make up`, or scripts/check.sh after it started the services).
#
#   bash services/web/scripts/browser-test.sh              the browser tests (= make web-test)
#   bash services/web/scripts/browser-test.sh screenshots  docs/web/*.png (= make screenshots)
#
# Installs the chromium package when it is missing (as root, like infra/local installs
# PostgreSQL). CHROMIUM=<path> uses another Chromium binary.
set -euo pipefail
cd "$(dirname "$0")/../../.."
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

_apt_install_chromium() {
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y chromium; then
    apt-get update
    apt-get install -y chromium
  fi
}

if [[ ! -x $CHROMIUM ]]; then
  if [[ $(id -u) != 0 ]]; then
    echo "web-test: $CHROMIUM is missing; install it as root: apt-get install -y chromium" >&2
    exit 1
  fi
  echo "web-test: installing Debian package chromium (apt-get)"
  _apt_install_chromium >/tmp/shoplab-chromium-install.log 2>&1 || {
    tail -n 30 /tmp/shoplab-chromium-install.log >&2
    exit 1
  }
  [[ -x $CHROMIUM ]] || { echo "web-test: the chromium package is installed but $CHROMIUM is not there" >&2; exit 1; }
fi
echo "web-test: $("$CHROMIUM" --version 2>/dev/null | tail -n 1)"
export CHROMIUM
if [[ ${1:-} == screenshots ]]; then
  exec node --enable-source-maps services/web/dist/test/browser/screenshots.js
fi
# Named *.browser-test.js, not *.test.js: scripts/test.sh (the unit and the e2e steps of
# make check) never picks them up, so they run only here, after chromium is there.
shopt -s nullglob
tests=(services/web/dist/test/browser/*.browser-test.js)
if ((${#tests[@]} == 0)); then
  echo "web-test: no compiled browser tests in services/web/dist/test/browser (run npm run build first)" >&2
  exit 1
fi
exec node --enable-source-maps --test --test-concurrency=1 --test-timeout=300000 "${tests[@]}"
