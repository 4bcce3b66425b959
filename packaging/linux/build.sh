#!/usr/bin/env bash
# Builds the Linux packages of smsdesk into dist/:
#   dist/smsdesk/                                  the PyInstaller one-folder build
#   dist/smsdesk-VERSION-linux-ARCH.tar.gz         portable: unpack anywhere, run ./smsdesk
#   dist/smsdesk_VERSION_ARCH.deb                  /opt/smsdesk, /usr/bin/smsdesk, launcher
#
# usage: bash packaging/linux/build.sh [--from-head]
#   --from-head   freeze the last commit (git archive HEAD) instead of the working tree
# env:   PYTHON  the Python 3.11+ to build with (default python3; needs its shared libpython)
#
# Needs: dpkg-deb, readelf (binutils), desktop-file-validate (desktop-file-utils),
# appstreamcli (appstream). Build tools go into a private venv in build/venv.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
VENV="$REPO/build/venv"
APP_ID="io.github.smsdesk.SmsDesk"
started=$(date +%s)

SRC="$REPO"
if [[ "${1:-}" == "--from-head" ]]; then
    SRC="$REPO/build/src"
    rm -rf "$SRC" && mkdir -p "$SRC"
    git -C "$REPO" archive HEAD | tar -x -C "$SRC"   # read-only: the repository is untouched
    echo "== freezing HEAD ($(git -C "$REPO" rev-parse --short HEAD)) from $SRC"
elif [[ -n "${1:-}" ]]; then
    echo "usage: bash packaging/linux/build.sh [--from-head]" >&2
    exit 2
fi

for tool in dpkg-deb readelf desktop-file-validate appstreamcli; do
    command -v "$tool" >/dev/null || {
        echo "missing $tool: apt-get install dpkg binutils desktop-file-utils appstream" >&2
        exit 1
    }
done

echo "== validating the desktop entry and AppStream metainfo"
desktop-file-validate "resources/$APP_ID.desktop"
appstreamcli validate --no-net "resources/$APP_ID.metainfo.xml"

echo "== build environment ($VENV)"
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# smsdesk's own dependencies (not its test extras) plus PyInstaller.
"$VENV/bin/python" -m pip install --quiet "$SRC" "pyinstaller>=6.10,<7"

echo "== PyInstaller"
SMSDESK_SRC="$SRC" "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$REPO/dist" --workpath "$REPO/build/pyinstaller" \
    packaging/pyinstaller/smsdesk.spec

VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$SRC/smsdesk/__init__.py")"
ARCH="$(dpkg --print-architecture)"        # amd64, arm64
UARCH="$(uname -m)"                        # x86_64, aarch64
BUNDLE="$REPO/dist/smsdesk"
"$BUNDLE/smsdesk" --version

# The desktop integration files, laid out as under /usr (used by both packages).
install_share() {  # $1: the prefix to fill (…/usr or …/share's parent)
    local prefix="$1"
    install -Dm644 "resources/$APP_ID.desktop" "$prefix/share/applications/$APP_ID.desktop"
    install -Dm644 "resources/$APP_ID.metainfo.xml" "$prefix/share/metainfo/$APP_ID.metainfo.xml"
    install -Dm644 "resources/icons/$APP_ID.svg" \
        "$prefix/share/icons/hicolor/scalable/apps/$APP_ID.svg"
    for png in resources/icons/smsdesk-*.png; do
        local size="${png##*-}"; size="${size%.png}"
        install -Dm644 "$png" "$prefix/share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
    done
}

echo "== portable tarball"
STAGE="$REPO/build/linux-stage"
rm -rf "$STAGE" && mkdir -p "$STAGE"
TARDIR="$STAGE/smsdesk-$VERSION"
cp -a "$BUNDLE" "$TARDIR"
install_share "$TARDIR"
cat >"$TARDIR/README.txt" <<EOF
smsdesk $VERSION (portable build for Linux $UARCH)

Run ./smsdesk to open the window, ./smsdesk --help for the command line.
Data lives in ~/.local/share/smsdesk, or wherever SMSDESK_HOME points (for a fully portable
install: SMSDESK_HOME="\$PWD/data" ./smsdesk). API keys go to the desktop keyring.
share/ holds a launcher, icons and AppStream metadata to copy under ~/.local/share if wanted
(edit Exec= in the launcher to this folder's smsdesk).
EOF
TARBALL="$REPO/dist/smsdesk-$VERSION-linux-$UARCH.tar.gz"
tar -C "$STAGE" --owner=0 --group=0 --numeric-owner -czf "$TARBALL" "smsdesk-$VERSION"

echo "== .deb"
ROOT="$STAGE/deb"
mkdir -p "$ROOT/opt" "$ROOT/usr/bin" "$ROOT/DEBIAN"
cp -a "$BUNDLE" "$ROOT/opt/smsdesk"
ln -s /opt/smsdesk/smsdesk "$ROOT/usr/bin/smsdesk"
install_share "$ROOT/usr"
install -Dm644 /dev/stdin "$ROOT/usr/share/doc/smsdesk/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: smsdesk
Source: https://github.com/smsdesk/smsdesk

Files: *
Copyright: The smsdesk developers
License: MIT
Comment: /opt/smsdesk bundles Python, Qt (LGPL-3), PySide6 (LGPL-3) and the Python
 packages listed in smsdesk's pyproject.toml, each under its own licence.
EOF

# Depends: the host libraries the bundle links against but does not carry, mapped to the
# packages that provide them on the build machine (glibc, GL/EGL, xcb, wayland...).
missing_sonames() {
    local bundled
    bundled="$(find "$BUNDLE" \( -type f -o -type l \) -name '*.so*' -printf '%f\n' | sort -u)"
    find "$BUNDLE" -type f \( -name '*.so*' -o -name smsdesk \) -print0 |
        xargs -0 readelf -d 2>/dev/null |
        sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u |
        grep -vxF -f <(printf '%s\n' "$bundled") || true
}
depends=()
while read -r soname; do
    [[ -n "$soname" ]] || continue
    path="$(ldconfig -p | awk -v s="$soname" '$1 == s && /x86-64|AArch64|aarch64/ {print $NF; exit}')"
    [[ -n "$path" ]] || path="$(ldconfig -p | awk -v s="$soname" '$1 == s {print $NF; exit}')"
    [[ -n "$path" ]] || { echo "   note: $soname not on this machine (optional plugin dep)"; continue; }
    pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1)" ||
        pkg="$(dpkg -S "$path" 2>/dev/null | head -n1 | cut -d: -f1)" || true
    [[ -n "$pkg" ]] && depends+=("$pkg")
done < <(missing_sonames)
DEPENDS="$(printf '%s\n' "${depends[@]}" | sort -u | paste -sd, | sed 's/,/, /g')"

cat >"$ROOT/DEBIAN/control" <<EOF
Package: smsdesk
Version: $VERSION
Architecture: $ARCH
Maintainer: The smsdesk developers <smsdesk@users.noreply.github.com>
Installed-Size: $(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
Depends: $DEPENDS
Recommends: gnome-keyring | kwalletmanager
Section: utils
Priority: optional
Homepage: https://github.com/smsdesk/smsdesk
Description: schedule text messages from your desk
 smsdesk keeps a durable local outbox of SMS reminders and hands each one to
 your SMS provider (Infobip, Telnyx, Kaleyra, or the built-in Sandbox) at the
 right moment. Self-contained build: Python and Qt are bundled in /opt/smsdesk.
EOF
DEB="$REPO/dist/smsdesk_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
dpkg-deb --info "$DEB" | sed -n '/Package:/,/Depends:/p'

elapsed=$(( $(date +%s) - started ))
echo "== done in ${elapsed}s"
du -sh "$BUNDLE"
ls -lh "$TARBALL" "$DEB" | awk '{print $5, $9}'
