#!/usr/bin/env bash
# facesearch demo (make demo, after make setup): builds a library, prints its
# summary, searches it with a photo of someone in it, and screens two photos
# with 'facesearch check': a held-out photo of a person in the library and a
# photo of a stranger, with their verdicts (match / possible / no_match).
#
# Photos: when ../shared/faces/lfw exists, 60 LFW people (6-20 photos each,
# evenly spread over the alphabet) minus each one's last photo, linked (not
# copied) into $FACESEARCH_HOME/demo-data/lfw60; the known query is one of the
# held-out photos, the stranger a person with a single LFW photo. That library
# is large enough to calibrate its verdicts (docs/VERDICTS.md). Otherwise the
# six group photos of the npm package @vladmandic/face-api@1.7.15
# (demo/sample1-6.jpg, MIT), fetched once with `npm pack` into
# $FACESEARCH_HOME/demo-photos, one folder per photo: too few people to
# calibrate, so its verdicts say "uncalibrated".
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

if [[ "${FACESEARCH_DEMO_SOURCE:-}" != npm && -d ../shared/faces/lfw ]]; then
  lfw=$(cd ../shared/faces/lfw && pwd)
  data=$home/demo-data/lfw60
  qdir=$home/demo-data/queries
  if [[ ! -f "$data/.complete" ]]; then
    say "linking 60 LFW people into $data (no photo is copied)"
    rm -rf "$data" "$qdir" && mkdir -p "$data" "$qdir"
    many=() single=()
    for d in "$lfw"/*/; do
      n=$(basename "$d")
      c=$(find "$d" -maxdepth 1 -name '*.jpg' | wc -l)
      if ((c >= 6 && c <= 20)); then many+=("$n"); elif ((c == 1)); then single+=("$n"); fi
    done
    ((${#many[@]} >= 60 && ${#single[@]} >= 1)) || die "$lfw looks incomplete"
    for ((i = 0; i < 60; i++)); do
      n=${many[i * ${#many[@]} / 60]}
      mapfile -t ps < <(find "$lfw/$n" -maxdepth 1 -name '*.jpg' | sort)
      mkdir -p "$data/$n"
      for ((j = 0; j < ${#ps[@]} - 1; j++)); do ln -s "${ps[j]}" "$data/$n/"; done
      ((i == 0)) && ln -s "${ps[-1]}" "$qdir/known-$(basename "${ps[-1]}")"
    done
    s=${single[${#single[@]} / 2]}
    ln -s "$lfw/$s/$(ls "$lfw/$s" | head -1)" "$qdir/stranger-$s.jpg"
    touch "$data/.complete"
  fi
  query=$(ls "$qdir"/known-* | head -1)
  checks=("$qdir"/known-* "$qdir"/stranger-*)
  name=lfw60
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
  checks=("$data/sample1/sample1.jpg" "$data/sample2/sample2.jpg")
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
echo
say "screening a photo of someone in the library and one of a stranger: ${checks[*]}"
bin/facesearch check --library "$lib" "${checks[@]}"
