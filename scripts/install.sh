#!/bin/sh
# Install a prebuilt, verified orchestrator binary (POSIX sh: dash, bash, busybox, macOS sh).
#
#   install.sh --version 0.2.0 [--to DIR] [--checksums FILE]
#
# Downloads orchestrator-<target>.tar.gz (.zip on Windows) and SHA256SUMS from
#   ${ORCHESTRATOR_RELEASE_URL:-https://github.com/vfarcic/orchestrator/releases/download}/v<VERSION>/
# checks the asset's SHA-256 against its line in SHA256SUMS and, with --checksums FILE (what the
# GitHub Action passes: checksums committed in its repository), against that file too, and only
# then moves the binary into DIR (default ~/.local/bin) with one rename. On any failure nothing
# is installed and an existing orchestrator in DIR is left as it was.
#
# Exit codes:
#   0  installed (with a note when DIR is not on PATH, and the line that adds it)
#   2  usage: an unknown option, no --version, a malformed version
#   3  this OS or CPU has no prebuilt binary (build from source: cargo install --locked orchestrator)
#   4  download failed: the asset or SHA256SUMS is missing (HTTP 404), or the server kept
#      failing (5xx, 429, no answer, a transfer cut off or stalled) after every retry, or
#      neither curl nor wget is installed
#   5  verification failed: the asset's SHA-256 differs from SHA256SUMS or the pinned
#      checksums, or it has no (or no well-formed) line there
#   6  could not install: DIR not writable, DIR/orchestrator is a directory (or another thing
#      that is neither a file nor a symlink), the archive holds no binary or its orchestrator
#      member is not exactly one regular file (a symlink, a hard link, a directory, twice)
#
# Environment (all optional):
#   ORCHESTRATOR_RELEASE_URL      where releases are downloaded from (a mirror, or a test server)
#   ORCHESTRATOR_OS, ORCHESTRATOR_ARCH
#                                 used instead of `uname -s` / `uname -m` (e.g. Linux, x86_64)
#   ORCHESTRATOR_DOWNLOAD_ATTEMPTS  tries per file on a 5xx, 429 or network error (default 4)
#   ORCHESTRATOR_RETRY_DELAY      seconds before the first retry, doubled after each (default 2)
#   ORCHESTRATOR_DOWNLOAD_TIMEOUT seconds one try may take with curl, or stall with wget
#                                 (default 300; a fraction such as 0.5 is allowed); a try past
#                                 it is a network error, retried
set -eu

RELEASE_URL=${ORCHESTRATOR_RELEASE_URL:-https://github.com/vfarcic/orchestrator/releases/download}
ATTEMPTS=${ORCHESTRATOR_DOWNLOAD_ATTEMPTS:-4}
DELAY=${ORCHESTRATOR_RETRY_DELAY:-2}
TIMEOUT=${ORCHESTRATOR_DOWNLOAD_TIMEOUT:-300}

say() { printf 'orchestrator install: %s\n' "$*" >&2; }
die() {
    code=$1
    shift
    say "error: $*"
    exit "$code"
}

usage() {
    sed -n '2,5p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' >&2 || true
}

version=""
dir="${HOME:-.}/.local/bin"
pinned=""
while [ $# -gt 0 ]; do
    case $1 in
        --version) [ $# -ge 2 ] || die 2 "--version needs a value"; version=$2; shift 2 ;;
        --version=*) version=${1#--version=}; shift ;;
        --to) [ $# -ge 2 ] || die 2 "--to needs a directory"; dir=$2; shift 2 ;;
        --to=*) dir=${1#--to=}; shift ;;
        --checksums) [ $# -ge 2 ] || die 2 "--checksums needs a file"; pinned=$2; shift 2 ;;
        --checksums=*) pinned=${1#--checksums=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die 2 "unknown option '$1' (usage: install.sh --version V [--to DIR] [--checksums FILE])" ;;
    esac
done

[ -n "$version" ] || die 2 "name the version to install: --version 0.1.0 (the releases page lists them)"
version=${version#v}
case $version in
    *[!0-9A-Za-z.+-]* | "" | .* | -*) die 2 "'$version' is not a version (e.g. 0.1.0)" ;;
esac
case $ATTEMPTS in *[!0-9]* | "" | 0) die 2 "ORCHESTRATOR_DOWNLOAD_ATTEMPTS must be a whole number of at least 1" ;; esac
case $DELAY in *[!0-9]* | "") die 2 "ORCHESTRATOR_RETRY_DELAY must be a whole number of seconds" ;; esac
# A number of seconds above zero, whole or with a fraction (curl and wget both take 0.5).
case $TIMEOUT in
    *[!0-9.]* | "" | .* | *. | *.*.*) timeout_ok=false ;;
    *[1-9]*) timeout_ok=true ;;
    *) timeout_ok=false ;;
esac
[ "$timeout_ok" = true ] || die 2 "ORCHESTRATOR_DOWNLOAD_TIMEOUT must be a number of seconds above 0 (300, or 0.5)"
if [ -n "$pinned" ] && [ ! -r "$pinned" ]; then
    die 2 "the pinned checksums file '$pinned' cannot be read"
fi

os=${ORCHESTRATOR_OS:-$(uname -s)}
arch=${ORCHESTRATOR_ARCH:-$(uname -m)}
case $arch in
    x86_64 | amd64 | AMD64) cpu=x86_64 ;;
    aarch64 | arm64 | ARM64) cpu=aarch64 ;;
    *) cpu="" ;;
esac
ext=tar.gz
exe=orchestrator
case $os in
    Linux) sys=unknown-linux-musl ;;
    Darwin) sys=apple-darwin ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT) sys=pc-windows-msvc; ext=zip; exe=orchestrator.exe ;;
    *) sys="" ;;
esac
if [ -z "$cpu" ] || [ -z "$sys" ] || { [ "$sys" = pc-windows-msvc ] && [ "$cpu" != x86_64 ]; }; then
    die 3 "no prebuilt orchestrator for $os/$arch (there are Linux and macOS x86_64/aarch64 and Windows x86_64); build it from source: cargo install --locked orchestrator"
fi
target=$cpu-$sys
asset=orchestrator-$target.$ext
base=${RELEASE_URL%/}/v$version

work=$(mktemp -d "${TMPDIR:-/tmp}/orchestrator-install.XXXXXX") || die 6 "cannot create a temporary directory"
stage=""
cleanup() {
    rm -rf "$work"
    if [ -n "$stage" ]; then rm -rf "$stage"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# get URL FILE: one attempt; sets status (the HTTP status, 000 when none came) and cut (empty,
# or why the transfer failed after it began: curl or wget exited non-zero, so FILE may be only
# part of the body, or a 200 that stalled).
get() {
    cut=""
    if command -v curl >/dev/null 2>&1; then
        if status=$(curl --silent --show-error --location --proto '=https,http' \
            --connect-timeout 20 --max-time "$TIMEOUT" \
            --output "$2" --write-out '%{http_code}' "$1"); then
            return 0
        else
            rc=$?
        fi
        case $rc in
            18) cut="the connection closed before the whole file arrived (curl exit 18)" ;;
            28) cut="no complete answer within ${TIMEOUT}s (curl exit 28)" ;;
            *) cut="network error (curl exit $rc)" ;;
        esac
    elif command -v wget >/dev/null 2>&1; then
        # --tries=1: the loop in fetch retries, with its own count and pauses.
        if wget --quiet --server-response --tries=1 --timeout="$TIMEOUT" \
            --output-document="$2" "$1" 2>"$work/response"; then
            rc=0
        else
            rc=$?
        fi
        status=$(awk '$1 ~ /^HTTP\// { s = $2 } END { print s }' "$work/response")
        case $rc in
            0) status=${status:-200} ;;
            8) ;; # the server answered an error status: judged by it
            *) cut="network error or transfer cut off (wget exit $rc)" ;;
        esac
    else
        die 4 "neither curl nor wget is installed"
    fi
    case $status in [0-9][0-9][0-9]) ;; *) status=000 ;; esac
}

# fetch URL FILE: 0 fetched; 1 missing (404/410); 2 still failing after every attempt. A
# transfer cut off or stalled after its 200 is a network error like any other: retried, never
# handed on to be reported as a checksum mismatch.
fetch() {
    attempt=1
    wait_s=$DELAY
    while :; do
        rm -f "$2"
        get "$1" "$2"
        case $status in
            404 | 410) return 1 ;;
            2??) if [ -z "$cut" ]; then return 0; fi; why="HTTP $status, then $cut" ;;
            5?? | 429 | 408) why="HTTP $status" ;;
            000) why=${cut:-"no answer"} ;;
            *) say "$1: HTTP $status"; return 2 ;;
        esac
        if [ "$attempt" -ge "$ATTEMPTS" ]; then
            say "$1: $why, after $attempt attempts"
            return 2
        fi
        say "$1: $why, retrying in ${wait_s}s ($attempt of $ATTEMPTS)"
        sleep "$wait_s"
        attempt=$((attempt + 1))
        wait_s=$((wait_s * 2))
    done
}

download() {
    if fetch "$base/$1" "$work/$1"; then return 0; else code=$?; fi
    if [ "$code" -eq 1 ]; then
        die 4 "$base/$1 does not exist: is v$version released, with an asset for $target?"
    fi
    die 4 "could not download $base/$1"
}

# sha256 FILE: the file's SHA-256 as 64 lowercase hex digits. The file is read on stdin, so no
# path character can change what the tool prints (sha256sum escapes a name holding `\` or a
# newline and marks the line with a leading `\`); only the hex is kept and checked.
sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        hash=$(sha256sum <"$1")
    elif command -v shasum >/dev/null 2>&1; then
        hash=$(shasum -a 256 <"$1")
    elif command -v openssl >/dev/null 2>&1; then
        hash=$(openssl dgst -sha256 -r <"$1")
    else
        die 5 "no sha256sum, shasum or openssl to verify the download with"
    fi
    hash=$(printf '%s\n' "$hash" | awk 'NR == 1 { print tolower($1) }')
    case $hash in
        *[!0-9a-f]* | "") die 5 "could not compute the SHA-256 of $1" ;;
    esac
    [ ${#hash} -eq 64 ] || die 5 "could not compute the SHA-256 of $1"
    printf '%s\n' "$hash"
}

# expected SUMS_FILE: the one well-formed hash for $asset in a sha256sum-format file.
expected() {
    awk -v name="$asset" '
        { file = $2; sub(/^\*/, "", file) }
        file == name && NF == 2 { n++; hash = tolower($1) }
        END { if (n == 1 && hash ~ /^[0-9a-f]+$/ && length(hash) == 64) print hash }
    ' "$1"
}

download SHA256SUMS
download "$asset"

actual=$(sha256 "$work/$asset")
want=$(expected "$work/SHA256SUMS")
[ -n "$want" ] || die 5 "SHA256SUMS of v$version has no single well-formed line for $asset"
[ "$actual" = "$want" ] || die 5 "$asset does not match SHA256SUMS (expected $want, got $actual): not installed"
if [ -n "$pinned" ]; then
    want=$(expected "$pinned")
    [ -n "$want" ] || die 5 "the pinned checksums $pinned have no single well-formed line for $asset"
    [ "$actual" = "$want" ] || die 5 "$asset does not match the pinned checksums in $pinned (expected $want, got $actual): not installed"
fi
say "verified $asset ($actual)"

# members ARCHIVE: the archive's members named exactly $exe, one `tar -tv` line each (with
# GNU tar and bsdtar alike the line starts with the member's type: `-` a regular file, `l` a
# symlink, `h` a hard link, `d` a directory). Member names are matched as tar matches them
# when extracting, so what is listed is what would be extracted.
members() {
    tar -tvzf "$1" "$exe" 2>/dev/null || die 6 "$asset holds no $exe: not installed"
}

# unpack: extracts the one member $exe of the verified archive into the empty $work/x. Only a
# single regular file is taken: a symlink would install whatever it points to (cp follows it),
# a hard link or a second member of that name (tar keeps the last) could be either, and a
# directory is not a binary. This release's archives never hold such a member; one that does
# was not made by its release workflow, so nothing is installed.
unpack() {
    malformed="the archive $asset is malformed (not made by the release workflow?): nothing installed"
    if [ "$ext" = zip ]; then
        if command -v unzip >/dev/null 2>&1; then
            n=$(unzip -Z1 "$work/$asset" 2>/dev/null | awk -v name="$exe" '$0 == name { n++ } END { print n + 0 }')
            [ "$n" -eq 1 ] || die 6 "$asset holds $n members named $exe, not one; $malformed"
            unzip -q "$work/$asset" "$exe" -d "$work/x" </dev/null || die 6 "cannot unpack $asset"
        else
            win() { if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s' "$1"; fi; }
            powershell -NoProfile -Command "Expand-Archive -LiteralPath '$(win "$work/$asset")' -DestinationPath '$(win "$work/x")'" ||
                die 6 "cannot unpack $asset (no unzip, no PowerShell)"
        fi
    else
        listed=$(members "$work/$asset")
        n=$(printf '%s\n' "$listed" | awk 'END { print NR }')
        [ "$n" -eq 1 ] || die 6 "$asset holds $n members named $exe, not one; $malformed"
        case $listed in
            -*) ;;
            l*) die 6 "the $exe in $asset is a symbolic link, not a file; $malformed" ;;
            h*) die 6 "the $exe in $asset is a hard link, not a file; $malformed" ;;
            d*) die 6 "the $exe in $asset is a directory, not a file; $malformed" ;;
            *) die 6 "the $exe in $asset is not a regular file; $malformed" ;;
        esac
        tar -xzf "$work/$asset" -C "$work/x" "$exe" || die 6 "cannot unpack $asset"
    fi
    [ -e "$work/x/$exe" ] || [ -L "$work/x/$exe" ] || die 6 "$asset holds no $exe: not installed"
    if [ ! -f "$work/x/$exe" ] || [ -L "$work/x/$exe" ]; then
        die 6 "the $exe in $asset is not a regular file; $malformed"
    fi
}

# A directory at DIR/orchestrator (or a symlink to one) would receive the binary inside it
# (mv moves into a directory); a device, FIFO or socket there is not an older orchestrator.
# A regular file, or a symlink to anything but a directory, is replaced (the link itself, by
# the rename; what it pointed to is left as it was).
destination_is_replaceable() {
    if [ -d "$dir/$exe" ]; then
        die 6 "$dir/$exe is a directory: nothing installed (remove it, or install elsewhere with --to)"
    fi
    if [ -e "$dir/$exe" ] && [ ! -f "$dir/$exe" ] && [ ! -L "$dir/$exe" ]; then
        die 6 "$dir/$exe exists and is not a file: nothing installed (remove it, or install elsewhere with --to)"
    fi
}

mkdir -p "$dir" 2>/dev/null || die 6 "cannot create $dir"
destination_is_replaceable
mkdir "$work/x" || die 6 "cannot unpack in $work"
unpack

# Staged beside the destination, so the final step is one rename on one filesystem.
stage=$(mktemp -d "$dir/.orchestrator-install.XXXXXX" 2>/dev/null) || die 6 "cannot write to $dir"
# The archive's mode bits are not trusted either: readable to copy, then exactly 0755.
chmod u+r "$work/x/$exe" || die 6 "cannot read the unpacked $exe in $work"
cp "$work/x/$exe" "$stage/$exe" || die 6 "cannot write to $dir"
chmod 755 "$stage/$exe"
mv -f "$stage/$exe" "$dir/$exe" || die 6 "cannot move orchestrator into $dir"
say "installed orchestrator $version ($target) as $dir/$exe"

# A shell finds `orchestrator` only through PATH: when DIR is not on it, say the line that puts
# it there (absolute, so it holds from any directory; quoted for a double-quoted string), and
# under GitHub Actions the step that does it for the job's later steps.
absolute=$(cd "$dir" 2>/dev/null && pwd) || absolute=$dir
case ":${PATH:-}:" in
    *":$dir:"* | *":$dir/:"* | *":$absolute:"* | *":$absolute/:"*) ;;
    *)
        quoted=$(printf '%s\n' "$absolute" | sed 's/[\\"$`]/\\&/g')
        if [ "${GITHUB_ACTIONS:-}" = true ]; then
            say "note: $absolute is not on PATH; for the job's later steps: echo \"$quoted\" >> \"\$GITHUB_PATH\""
        else
            say "note: $absolute is not on your PATH; add it (e.g. in ~/.profile): export PATH=\"$quoted:\$PATH\""
        fi
        ;;
esac
