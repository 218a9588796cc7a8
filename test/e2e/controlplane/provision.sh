#!/usr/bin/env bash
# Provision the local Kubernetes control plane used by the e2e suite:
#   - etcd            (Debian package etcd-server, /usr/bin/etcd)
#   - kube-apiserver  v1.20.2, built from Debian's `kubernetes` source package
#   - xmllint         (Debian package libxml2-utils: the JUnit output of `redline review` is
#                     validated against a strict XSD in test/integration)
#
# Result: $CACHE/kube-1.20.2/kube-apiserver, where
#   CACHE=${REDLINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/redline}
#
# Idempotent: when the binary is there and etcd is on PATH it exits at once.
# Safe to run concurrently (flock); works from any cwd.
set -euo pipefail

KUBE_VERSION="v1.20.2"
CACHE="${REDLINE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/redline}"
KDIR="$CACHE/kube-1.20.2"
BIN="$KDIR/kube-apiserver"
LOG="$KDIR/build.log"
LOCK="$KDIR/.provision.lock"
PACKAGES=(golang-go rsync dpkg-dev etcd-server golang-github-modern-go-reflect2-dev libxml2-utils)
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2

say() { printf '[redline-provision] %s\n' "$*"; }
die() { printf '[redline-provision] ERROR: %s\n' "$*" >&2; exit 1; }

binary_ok() {
  [[ -x "$BIN" ]] || return 1
  local v
  v="$("$BIN" --version 2>/dev/null)" || return 1
  [[ "$v" == *"$KUBE_VERSION"* ]]
}

have_etcd() { command -v etcd >/dev/null 2>&1 || [[ -x /usr/bin/etcd ]]; }
have_xmllint() { command -v xmllint >/dev/null 2>&1; }

# ---- fast path: nothing to do -------------------------------------------
if binary_ok && have_etcd && have_xmllint; then
  say "ok: kube-apiserver $KUBE_VERSION at $BIN, etcd at $(command -v etcd || echo /usr/bin/etcd)"
  exit 0
fi

mkdir -p "$KDIR"
exec 9>"$LOCK"
if ! flock -n 9; then
  say "another provision run holds $LOCK; waiting for it..."
  flock 9
fi
# Re-check: a concurrent run may have finished the job while we waited.
if binary_ok && have_etcd && have_xmllint; then
  say "ok: kube-apiserver $KUBE_VERSION at $BIN (provisioned by a concurrent run)"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script needs a Debian (bookworm) machine with packages: ${PACKAGES[*]} and the 'kubernetes' source package (deb-src)"

: >"$LOG"
say "build log: $LOG"
START=$(date +%s)

# ---- apt: deb-src entry, update, packages (only what is missing) -----------
DEBSRC_FILE=/etc/apt/sources.list.d/redline-deb-src.sources
has_debsrc() {
  grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null && return 0
  grep -qsiE '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources 2>/dev/null && return 0
  return 1
}

make_debsrc() {
  # deb822 stanzas of the main Debian archive (URI ending in /debian), retyped to deb-src.
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    awk '
      function flush() {
        if (isdeb && isdebian && enabled) { print "Types: deb-src"; printf "%s", body; print "" }
        body=""; isdeb=0; isdebian=0; enabled=1
      }
      BEGIN { body=""; isdeb=0; isdebian=0; enabled=1 }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      /^Types:/ { if ($0 ~ /[[:space:]]deb([[:space:]]|$)/) isdeb=1; next }
      /^Enabled:[[:space:]]*no/ { enabled=0 }
      /^URIs:/ { for (i=2;i<=NF;i++) if ($i ~ /\/debian\/?$/) isdebian=1 }
      { body = body $0 "\n" }
      END { flush() }
    ' "$f"
  done
  # one-line format
  local l
  for l in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$l" ]] || continue
    awk '
      $1 == "deb" {
        uri = 2; if ($2 ~ /^\[/) { for (i=2;i<=NF;i++) if ($i ~ /\]$/) { uri=i+1; break } }
        if ($uri ~ /\/debian\/?$/) {
          print "Types: deb-src"; print "URIs: " $uri; print "Suites: " $(uri+1)
          c=""; for (i=uri+2;i<=NF;i++) c = c (c==""?"":" ") $i; print "Components: " c; print ""
        }
      }' "$l"
  done
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_apt=0
((${#missing[@]})) && need_apt=1
has_debsrc || need_apt=1
if ((need_apt == 0)) && ! apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes'; then
  need_apt=1 # deb-src configured but package lists not fetched yet
fi

if ((need_apt)); then
  SUDO=()
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO=(sudo -n)
    else
      die "not root and no passwordless sudo. As root: add a deb-src entry for your Debian archive (e.g. a copy of its stanza in /etc/apt/sources.list.d/*.sources with 'Types: deb-src'), then run
  apt-get update && apt-get install -y ${PACKAGES[*]}
and re-run $0"
    fi
  fi
  if ! has_debsrc; then
    content="$(make_debsrc)"
    [[ -n "$content" ]] || die "could not find a Debian archive (URI ending in /debian) in /etc/apt/sources.list* to add a deb-src entry for; add one by hand (Types: deb-src) and re-run"
    say "adding deb-src entry: $DEBSRC_FILE"
    printf '# Added by redline test/e2e/controlplane/provision.sh (needed for: apt-get source kubernetes)\n%s\n' "$content" \
      | "${SUDO[@]}" tee "$DEBSRC_FILE" >/dev/null
  fi
  export DEBIAN_FRONTEND=noninteractive
  say "apt-get update"
  "${SUDO[@]}" apt-get update >>"$LOG" 2>&1 || die "apt-get update failed; see $LOG"
  if ((${#missing[@]})); then
    say "apt-get install ${missing[*]}"
    "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 \
      || die "apt-get install ${missing[*]} failed; see $LOG"
  fi
fi
have_etcd || die "etcd not found after installing etcd-server"
have_xmllint || die "xmllint not found after installing libxml2-utils"
[[ -d "$REFLECT2_SRC" ]] || die "$REFLECT2_SRC missing (package golang-github-modern-go-reflect2-dev)"

if binary_ok; then
  say "done: $BIN"
  exit 0
fi

# ---- source ------------------------------------------------------------
WORK="$KDIR/work"
rm -rf "$WORK"
mkdir -p "$WORK"
say "apt-get source kubernetes (into $WORK)"
(cd "$WORK" && apt-get source kubernetes) >>"$LOG" 2>&1 || die "apt-get source kubernetes failed; see $LOG"
TREE="$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)"
[[ -n "$TREE" && -d "$TREE/cmd/kube-apiserver" ]] || die "unpacked kubernetes source tree not found under $WORK; see $LOG"
say "source tree: $TREE"

# reflect2 v1.0.1 (vendored) crashes under Go >= 1.18; use Debian's 1.0.2 sources.
say "replacing vendor/github.com/modern-go/reflect2 with $REFLECT2_SRC"
rsync -a --delete --exclude='*_test.go' --exclude='go.mod' --exclude='go.sum' --exclude='test*/' \
  "$REFLECT2_SRC/" "$TREE/vendor/github.com/modern-go/reflect2/" >>"$LOG" 2>&1

# ---- build -------------------------------------------------------------
GOPATH_DIR="$WORK/gopath"
mkdir -p "$GOPATH_DIR/src/k8s.io"
ln -sfn "$TREE" "$GOPATH_DIR/src/k8s.io/kubernetes"
cat >"$WORK/version.env" <<EOF
KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_VERSION='$KUBE_VERSION'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
EOF

say "building kube-apiserver $KUBE_VERSION (several minutes; tail -f $LOG)"
BUILD_START=$(date +%s)
(
  cd "$GOPATH_DIR/src/k8s.io/kubernetes"
  export GOPATH="$GOPATH_DIR" GOCACHE="$WORK/gocache" CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off \
    GOFLAGS="${REDLINE_KUBE_GOFLAGS:-}" KUBE_GIT_VERSION_FILE="$WORK/version.env" KUBE_VERBOSE=2
  make WHAT=cmd/kube-apiserver
) >>"$LOG" 2>&1 || die "build failed; see $LOG"
say "build took $(( $(date +%s) - BUILD_START ))s"

OUT="$TREE/_output/local/bin/linux/amd64/kube-apiserver"
[[ -x "$OUT" ]] || OUT="$(find "$TREE/_output" -type f -name kube-apiserver -perm -u+x 2>/dev/null | head -n1)"
[[ -n "$OUT" && -x "$OUT" ]] || die "build finished but no kube-apiserver binary found under $TREE/_output; see $LOG"
cp "$OUT" "$BIN.tmp"
chmod 0755 "$BIN.tmp"
mv -f "$BIN.tmp" "$BIN"
binary_ok || die "$BIN --version does not print $KUBE_VERSION: $("$BIN" --version 2>&1 || true); see $LOG"

rm -rf "$WORK"
say "done in $(( $(date +%s) - START ))s: $("$BIN" --version)"
say "kube-apiserver: $BIN"
