#!/usr/bin/env bash
# facesearch demo (make demo, after make setup): indexes a few face photos into
# a library under $FACESEARCH_HOME/demo-library, prints its summary, and
# searches it with one photo.
#
# Photos: ../shared/faces/deepface when ../shared/faces exists (13 people,
# 61 photos); otherwise the six group photos of the npm package
# @vladmandic/face-api@1.7.15 (demo/sample1-6.jpg, MIT), fetched once with
# `npm pack` into $FACESEARCH_HOME/demo-photos, one folder per photo.
#
#   scripts/demo.sh     FACESEARCH_LIBRARY=DIR overrides the library;
#                       FACESEARCH_DEMO_SOURCE=npm uses the npm photos even when
#                       ../shared/faces exists
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
home=${FACESEARCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/facesearch}
export FACESEARCH_HOME=$home
say() { printf 'demo: %s\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

go build -o bin/facesearch ./cmd/facesearch

if [[ "${FACESEARCH_DEMO_SOURCE:-}" != npm && -d ../shared/faces/deepface ]]; then
  data=$(cd ../shared/faces/deepface && pwd)
  query=$data/person_01/img1.jpg
  name=deepface
  flags=()
else
  command -v npm >/dev/null || die "npm is not on PATH (needed to fetch the demo photos)"
  spec=@vladmandic/face-api@1.7.15
  sha=WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==
  data=$home/demo-photos
  if ! ls "$data"/sample*/sample*.jpg >/dev/null 2>&1; then
    say "fetching demo photos from npm $spec"
    tmpd=$(mktemp -d)
    trap 'rm -rf "$tmpd"' EXIT
    (cd "$tmpd" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed"
    got=$(openssl dgst -sha512 -binary "$tmpd"/*.tgz | base64 -w0)
    [[ "$got" == "$sha" ]] || die "$spec: sha512 mismatch (want $sha, got $got)"
    tar -xzf "$tmpd"/*.tgz -C "$tmpd" --wildcards 'package/demo/sample*.jpg' || die "extracting the demo photos"
    rm -rf "$data.part" && mkdir -p "$data.part"
    for f in "$tmpd"/package/demo/sample*.jpg; do
      b=$(basename "$f" .jpg)
      mkdir -p "$data.part/$b" && cp "$f" "$data.part/$b/"
    done
    rm -rf "$data" && mv "$data.part" "$data"
  fi
  query=$data/sample1/sample1.jpg
  name=face-api
  flags=(--all-faces) # group photos: search every face, not only each photo's primary one
fi

lib=${FACESEARCH_LIBRARY:-$home/demo-library/$name}
say "indexing $data into $lib"
bin/facesearch index --library "$lib" "$data"
echo
bin/facesearch stats --library "$lib"
echo
say "searching with $query"
bin/facesearch search --library "$lib" -k 5 "${flags[@]}" "$query"
