#!/usr/bin/env bash
# Release packaging, shared by the release workflow and the install script's tests, so the names
# and the layout the action downloads are the ones a release publishes.
#
#   package.sh archive VERSION TARGET BINARY OUTDIR
#       OUTDIR/slascone-sync-VERSION-TARGET.tar.gz (.zip for Windows targets), holding the
#       directory slascone-sync-VERSION-TARGET/ with the binary and README.md
#   package.sh sums OUTDIR
#       OUTDIR/SHA256SUMS over every archive in OUTDIR, in `sha256sum` format
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)

usage() {
    echo "usage: $0 archive VERSION TARGET BINARY OUTDIR | sums OUTDIR" >&2
    exit 2
}

archive() {
    local version=$1 target=$2 binary=$3 out=$4
    [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
        echo "version \`$version\` is not X.Y.Z" >&2
        exit 1
    }
    [[ -f "$binary" ]] || {
        echo "no binary at $binary" >&2
        exit 1
    }
    local name="slascone-sync-$version-$target" exe='' ext=tar.gz
    if [[ "$target" == *windows* ]]; then
        exe=.exe
        ext=zip
    fi
    mkdir -p "$out"
    out=$(cd "$out" && pwd)
    local stage
    stage=$(mktemp -d)
    mkdir "$stage/$name"
    cp "$binary" "$stage/$name/slascone-sync$exe"
    chmod 755 "$stage/$name/slascone-sync$exe"
    cp "$root/README.md" "$stage/$name/"
    if [[ "$ext" == zip ]]; then
        rm -f "$out/$name.zip"
        if command -v zip >/dev/null; then
            (cd "$stage" && zip -qr "$out/$name.zip" "$name")
        else
            # GitHub's Windows runners have 7-Zip but no zip.
            (cd "$stage" && 7z a -tzip -bso0 "$out/$name.zip" "$name")
        fi
    else
        tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
    fi
    rm -rf "$stage"
    echo "$out/$name.$ext"
}

sums() {
    local out=$1
    (
        cd "$out"
        shopt -s nullglob
        local archives=(slascone-sync-*.tar.gz slascone-sync-*.zip)
        [[ ${#archives[@]} -gt 0 ]] || {
            echo "no slascone-sync archives in $out" >&2
            exit 1
        }
        sha256sum "${archives[@]}" >SHA256SUMS
    )
    echo "$out/SHA256SUMS"
}

case "${1:-}" in
    archive) [[ $# -eq 5 ]] || usage; archive "$2" "$3" "$4" "$5" ;;
    sums) [[ $# -eq 2 ]] || usage; sums "$2" ;;
    *) usage ;;
esac
