#!/usr/bin/env bash
# facesearch setup: idempotent. Installs Debian packages (as root), fetches the pinned
# npm tarballs (sha512-checked), extracts only the files needed into $FACESEARCH_HOME,
# and builds bin/facesearch. A second run changes nothing and takes seconds.
#
#   scripts/setup.sh [--bench]    --bench also installs deps/apt-bench.txt
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
home=${FACESEARCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/facesearch}
say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# 1. Debian packages.
lists=(deps/apt.txt)
[[ "${1:-}" == "--bench" ]] && lists+=(deps/apt-bench.txt)
pkgs=$(grep -hv '^\s*#' "${lists[@]}" | grep -v '^\s*$' | tr '\n' ' ')
missing=()
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    die "missing Debian packages: ${missing[*]}
  run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}
  then run this again."
  fi
fi
command -v go >/dev/null || die "Go is not on PATH (need Go 1.26; https://go.dev/doc/install)"
command -v npm >/dev/null || die "npm is not on PATH (need Node.js 20 + npm to fetch the pinned model and runtime tarballs)"

# 2. Pinned npm tarballs -> $home.
mkdir -p "$home/dl"
while read -r spec sha files; do
  [[ -z "$spec" || "$spec" == \#* ]] && continue
  name=${spec%@*}
  stamp="$home/$name.ok"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$spec $sha" ]]; then continue; fi
  tgz="$home/dl/$(echo "$name" | tr -d '@' | tr '/' '-')-${spec##*@}.tgz"
  if [[ ! -f "$tgz" ]]; then
    say "fetching $spec"
    tmpd=$(mktemp -d)
    (cd "$tmpd" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed"
    mv "$tmpd"/*.tgz "$tgz.part" && rmdir "$tmpd"
    mv "$tgz.part" "$tgz"
  fi
  got=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
  if [[ "$got" != "$sha" ]]; then
    rm -f "$tgz"
    die "$tgz: sha512 mismatch for $spec (want $sha, got $got); the file was removed, run setup again"
  fi
  dest="$home/$name"
  rm -rf "$dest.part" && mkdir -p "$dest.part"
  IFS=, read -ra want <<<"$files"
  tar -xzf "$tgz" -C "$dest.part" --strip-components=1 "${want[@]/#/package/}" || die "extracting $tgz"
  rm -rf "$dest" && mv "$dest.part" "$dest"
  echo "$spec $sha" >"$stamp"
  say "extracted $spec -> $dest"
done <deps/npm.lock

# 3. Build.
mkdir -p bin
go build -o bin/facesearch ./cmd/facesearch

# 4. Prepare the default model (flush denormal weights once; verifies sha256 of every file).
FACESEARCH_HOME="$home" bin/facesearch models prepare >&2
say "ready: FACESEARCH_HOME=$home, binary bin/facesearch"
