#!/usr/bin/env bash
# Installs a released slascone-sync binary for the machine it runs on, after checking the
# archive's SHA-256 against the release's SHA256SUMS. The GitHub Action runs it on every runner
# (Linux, macOS, and Windows under Git Bash); it also works on any machine with bash and curl.
#
# Environment (all optional):
#   SLASCONE_SYNC_VERSION             vX.Y.Z, X.Y.Z or `latest`; empty: the action's own ref when
#                                     that is a release tag vX.Y.Z, otherwise the latest release
#   SLASCONE_SYNC_ACTION_REF          the ref the action was used at (github.action_ref)
#   SLASCONE_SYNC_ACTION_REPOSITORY   owner/name of the action (github.action_repository)
#   SLASCONE_SYNC_RELEASES_URL        where releases live, instead of
#                                     https://github.com/OWNER/NAME/releases (the tests point it
#                                     at a directory through a file:// URL)
#   RUNNER_OS, RUNNER_ARCH            the platform as GitHub names it; uname when unset
#   RUNNER_TEMP                       parent of the install directory; TMPDIR or /tmp when unset
# On GitHub it adds the install directory to GITHUB_PATH and writes the outputs `version` and
# `path` (the binary) to GITHUB_OUTPUT.
set -euo pipefail

fail() {
    echo "::error title=slascone-sync install::$*" >&2
    exit 1
}

platform_os=${RUNNER_OS:-$(uname -s)}
platform_arch=${RUNNER_ARCH:-$(uname -m)}
case "$platform_os" in
    Linux) os=linux ;;
    macOS | Darwin) os=macos ;;
    Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
    *) os=unknown ;;
esac
case "$platform_arch" in
    X64 | x86_64 | amd64) arch=x86_64 ;;
    ARM64 | aarch64 | arm64) arch=aarch64 ;;
    *) arch=unknown ;;
esac
exe=
archive=tar.gz
case "$os/$arch" in
    linux/x86_64 | linux/aarch64) target="$arch-unknown-linux-musl" ;;
    macos/x86_64 | macos/aarch64) target="$arch-apple-darwin" ;;
    windows/x86_64)
        target=x86_64-pc-windows-msvc
        exe=.exe
        archive=zip
        ;;
    *)
        fail "no slascone-sync release is built for $platform_os $platform_arch;" \
            "releases cover Linux (x86_64, arm64), macOS (x86_64, arm64) and Windows (x86_64)." \
            "Elsewhere, build it: cargo install --locked --git <repository URL> slascone-sync"
        ;;
esac

# The action's own repository and ref. Composite actions do not always see github.action_* (a
# runner quirk), but the runner always checks an action out to _actions/OWNER/NAME/REF.
repository=${SLASCONE_SYNC_ACTION_REPOSITORY:-}
action_ref=${SLASCONE_SYNC_ACTION_REF:-}
action_path=${GITHUB_ACTION_PATH:-}
action_path=${action_path//\\//}
if [[ -z "$repository" && "$action_path" =~ /_actions/([^/]+)/([^/]+)/([^/]+)$ ]]; then
    repository="${BASH_REMATCH[1]}/${BASH_REMATCH[2]}"
    action_ref=${action_ref:-${BASH_REMATCH[3]}}
fi
# `uses: ./` in the action's own repository.
repository=${repository:-${GITHUB_REPOSITORY:-}}

semver='^v?([0-9]+\.[0-9]+\.[0-9]+)$'
requested=${SLASCONE_SYNC_VERSION:-}
if [[ -z "$requested" ]]; then
    if [[ "$action_ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
        requested=$action_ref
    else
        requested=latest
    fi
fi
if [[ "$requested" == latest ]]; then
    version=
elif [[ "$requested" =~ $semver ]]; then
    version=${BASH_REMATCH[1]}
else
    fail "version \`$requested\` is neither \`latest\` nor a release tag such as v1.2.3"
fi

if [[ -n "${SLASCONE_SYNC_RELEASES_URL:-}" ]]; then
    releases=${SLASCONE_SYNC_RELEASES_URL%/}
elif [[ -n "$repository" ]]; then
    releases="https://github.com/$repository/releases"
else
    fail "cannot tell which repository publishes slascone-sync: set SLASCONE_SYNC_ACTION_REPOSITORY to OWNER/NAME"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {
    # file:// only serves the tests' fake releases; real ones are always https.
    curl --proto '=https,file' --fail --silent --show-error --location \
        --retry 3 --connect-timeout 20 --output "$2" "$1" ||
        fail "could not download $1"
}

# SHA256SUMS has a fixed name, so the latest release's copy also tells which version is latest.
if [[ -z "$version" ]]; then
    sums_url="$releases/latest/download/SHA256SUMS"
else
    sums_url="$releases/download/v$version/SHA256SUMS"
fi
fetch "$sums_url" "$work/SHA256SUMS"

# Lines of `sha256sum`: HASH, two spaces (or a space and `*` in binary mode), file name.
name_pattern="slascone-sync-([0-9]+\.[0-9]+\.[0-9]+)-${target//./\\.}\.${archive//./\\.}"
asset=
expected=
while read -r hash name; do
    name=${name#\*}
    name=${name%$'\r'}
    if [[ "$name" =~ ^$name_pattern$ ]] && [[ -z "$version" || "${BASH_REMATCH[1]}" == "$version" ]]; then
        version=${BASH_REMATCH[1]}
        asset=$name
        expected=$(printf '%s' "$hash" | tr 'A-F' 'a-f')
        break
    fi
done <"$work/SHA256SUMS"
[[ -n "$asset" ]] || fail "$sums_url lists no archive for $target"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || fail "$sums_url: \`$expected\` is not a SHA-256 for $asset"

sha256() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$1"
    elif command -v shasum >/dev/null; then
        shasum -a 256 "$1"
    else
        openssl dgst -sha256 -r "$1"
    fi | cut -d ' ' -f 1
}

temp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
dir="${temp//\\//}/slascone-sync/$version-$target"
binary="$dir/slascone-sync$exe"
# The action may run several times in one job; an install of the same archive is reused.
if [[ -f "$binary" && -f "$dir/.sha256" && "$(cat "$dir/.sha256")" == "$expected" ]]; then
    echo "slascone-sync $version ($target) is already in $dir"
else
    fetch "$releases/download/v$version/$asset" "$work/$asset"
    actual=$(sha256 "$work/$asset")
    if [[ "$actual" != "$expected" ]]; then
        fail "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual; nothing was installed"
    fi
    mkdir -p "$work/unpacked"
    if [[ "$archive" == zip ]]; then
        if command -v unzip >/dev/null; then
            unzip -q "$work/$asset" -d "$work/unpacked"
        else
            # Git Bash has no unzip; Windows' own tar (bsdtar) reads zip archives.
            "${SYSTEMROOT:-C:/Windows}/System32/tar.exe" -xf "$work/$asset" -C "$work/unpacked"
        fi
    else
        tar -xzf "$work/$asset" -C "$work/unpacked"
    fi
    unpacked="$work/unpacked/${asset%."$archive"}/slascone-sync$exe"
    [[ -f "$unpacked" ]] || fail "$asset holds no ${asset%."$archive"}/slascone-sync$exe"
    mkdir -p "$dir"
    mv -f "$unpacked" "$binary"
    chmod +x "$binary"
    printf '%s\n' "$expected" >"$dir/.sha256"
fi

reported=$("$binary" --version) || fail "$binary does not run on this machine"
[[ "$reported" == "slascone-sync $version" ]] ||
    fail "$asset holds \`$reported\`, not slascone-sync $version"

if [[ -n "${GITHUB_PATH:-}" ]]; then
    if [[ "$os" == windows ]] && command -v cygpath >/dev/null; then
        cygpath -w "$dir" >>"$GITHUB_PATH"
    else
        echo "$dir" >>"$GITHUB_PATH"
    fi
fi
if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    {
        echo "version=$version"
        echo "path=$binary"
    } >>"$GITHUB_OUTPUT"
fi
echo "Installed slascone-sync $version ($target) in $dir"
