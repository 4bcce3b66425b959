#!/usr/bin/env bash
# Builds the Linux packages of smsdesk into dist/:
#   dist/smsdesk/                                  the PyInstaller one-folder build
#   dist/smsdesk-VERSION-linux-ARCH.tar.xz         portable: unpack anywhere, run ./smsdesk
#   dist/smsdesk_VERSION_ARCH.deb                  /opt/smsdesk/VERSION, /usr/bin/smsdesk, launcher
#   dist/smsdesk-VERSION-1.ARCH.rpm                the same for rpm (if rpmbuild is installed)
#
# usage: bash packaging/linux/build.sh [--from-head | --from-dir DIR | --package-only]
#   --from-head     freeze the last commit (git archive HEAD) instead of the working tree
#   --from-dir DIR  freeze the sources in DIR (a tree laid out like the repository)
#   --package-only  package the existing dist/smsdesk again (no PyInstaller run)
# env:   PYTHON  the Python 3.11+ to build with (default python3; needs its shared libpython)
#        SMSDESK_VERSION_OVERRIDE  package under another version (the smoke test's upgrade)
#        SMSDESK_DEB_ONLY=1        make only the .deb
#        SMSDESK_NO_TARBALL=1      make the .deb and the .rpm, not the tarball
#        SMSDESK_FAST_COMPRESSION=1  light compression (the smoke test's throw-away packages)
#
# Needs: dpkg-deb, dpkg-shlibdeps (dpkg-dev), readelf (binutils), patchelf,
# desktop-file-validate (desktop-file-utils), appstreamcli (appstream), xz (xz-utils).
# Build tools go into a private venv in build/venv.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
VENV="$REPO/build/venv"
APP_ID="io.github.smsdesk.SmsDesk"
started=$(date +%s)

SRC="$REPO"
FREEZE=yes
if [[ "${1:-}" == "--package-only" ]]; then
    FREEZE=no
elif [[ "${1:-}" == "--from-head" ]]; then
    SRC="$REPO/build/src"
    rm -rf "$SRC" && mkdir -p "$SRC"
    git -C "$REPO" archive HEAD | tar -x -C "$SRC"   # read-only: the repository is untouched
    echo "== freezing HEAD ($(git -C "$REPO" rev-parse --short HEAD)) from $SRC"
elif [[ "${1:-}" == "--from-dir" && -d "${2:-}" ]]; then
    SRC="$(cd "$2" && pwd)"   # an exported tree (e.g. a commit with one change on top)
    echo "== freezing $SRC"
elif [[ -n "${1:-}" ]]; then
    echo "usage: bash packaging/linux/build.sh [--from-head | --from-dir DIR | --package-only]" >&2
    exit 2
fi

for tool in dpkg-deb dpkg-shlibdeps readelf patchelf desktop-file-validate appstreamcli xz; do
    command -v "$tool" >/dev/null || {
        echo "missing $tool: apt-get install dpkg-dev binutils patchelf desktop-file-utils" \
            "appstream xz-utils" >&2
        exit 1
    }
done

VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$SRC/smsdesk/__init__.py")"
# Debian orders versions by its own rules; the changelog's top entry must name this one.
changelog_version="$(sed -n '1s/^smsdesk (\([^)]*\)).*/\1/p' packaging/debian/changelog)"
if [[ -z "${SMSDESK_VERSION_OVERRIDE:-}" && "$changelog_version" != "$VERSION" ]]; then
    echo "packaging/debian/changelog's top entry is $changelog_version, smsdesk is $VERSION" >&2
    exit 1
fi

echo "== validating the desktop entry and AppStream metainfo"
desktop-file-validate "resources/$APP_ID.desktop"
appstreamcli validate --no-net "resources/$APP_ID.metainfo.xml"

if [[ "$FREEZE" == yes ]]; then
echo "== build environment ($VENV)"
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# smsdesk's own dependencies with the PostgreSQL driver (not its test extras), PyInstaller,
# and pip-licenses for THIRD_PARTY_NOTICES.txt (build time only; not bundled), at the exact
# versions every platform's release build uses (packaging/constraints.txt).
"$VENV/bin/python" -m pip install --quiet -c "$REPO/packaging/constraints.txt" \
    "$SRC[postgres]" "pyinstaller>=6.10,<7" "pip-licenses>=5,<6"

echo "== PyInstaller"
SMSDESK_SRC="$SRC" "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$REPO/dist" --workpath "$REPO/build/pyinstaller" \
    packaging/pyinstaller/smsdesk.spec
fi
froze=$(date +%s)

VERSION="${SMSDESK_VERSION_OVERRIDE:-$VERSION}"
ARCH="$(dpkg --print-architecture)"        # amd64, arm64
UARCH="$(uname -m)"                        # x86_64, aarch64
BUNDLE="$REPO/dist/smsdesk"
elf_files() { find "$BUNDLE" -type f \( -name '*.so*' -o -name smsdesk \) -print0; }

echo "== RUNPATH: keep only \$ORIGIN-relative entries (no path of the build machine)"
stripped=0
while IFS= read -r -d '' elf; do
    rpath="$(patchelf --print-rpath "$elf" 2>/dev/null)" || continue  # not ELF
    [[ -n "$rpath" ]] || continue
    kept="$(tr ':' '\n' <<<"$rpath" | grep '^\$ORIGIN' | paste -sd: || true)"
    [[ "$kept" == "$rpath" ]] && continue
    if [[ -n "$kept" ]]; then
        patchelf --set-rpath "$kept" "$elf"
    else
        patchelf --remove-rpath "$elf"
    fi
    stripped=$((stripped + 1))
done < <(elf_files)
echo "   $stripped binaries had a build-machine RUNPATH"
if elf_files | xargs -0 readelf -d 2>/dev/null | grep -E '\((RUNPATH|RPATH)\)' |
    grep -v 'path: \[\$ORIGIN[^]]*\]$'; then
    echo "a RUNPATH outside the bundle is left (above)" >&2
    exit 1
fi

# Nothing GPL-only may be bundled: GNU readline came in through pdb/doctest (left out in the
# spec); fail if anything brings it back.
if find "$BUNDLE" \( -name 'libreadline*' -o -name 'readline.cpython*' \) | grep .; then
    echo "GNU readline is in the bundle (above)" >&2
    exit 1
fi
NOTICES="$BUNDLE/_internal/smsdesk/THIRD_PARTY_NOTICES.txt"
[[ -s "$NOTICES" && -s "$BUNDLE/_internal/smsdesk/LICENSE" ]] ||
    { echo "the licence files are not in the bundle" >&2; exit 1; }
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

STAGE="$REPO/build/linux-stage"
rm -rf "$STAGE" && mkdir -p "$STAGE"
TARBALL="$REPO/dist/smsdesk-$VERSION-linux-$UARCH.tar.xz"
if [[ -z "${SMSDESK_DEB_ONLY:-}${SMSDESK_NO_TARBALL:-}" ]]; then
echo "== portable tarball"
TARDIR="$STAGE/smsdesk-$VERSION"
cp -a "$BUNDLE" "$TARDIR"
install_share "$TARDIR"
install -m644 "$SRC/LICENSE" "$NOTICES" "$TARDIR/"
cat >"$TARDIR/README.txt" <<EOF
smsdesk $VERSION (portable build for Linux $UARCH)

Run ./smsdesk to open the window, ./smsdesk --help for the command line.
Data lives in ~/.local/share/smsdesk, or wherever SMSDESK_HOME points (for a fully portable
install: SMSDESK_HOME="\$PWD/data" ./smsdesk). API keys go to the desktop keyring.
share/ holds a launcher, icons and AppStream metadata to copy under ~/.local/share if wanted
(edit Exec= in the launcher to this folder's smsdesk).
smsdesk is under the MIT licence (LICENSE); THIRD_PARTY_NOTICES.txt lists everything bundled
with it (Python, Qt and PySide6 under the LGPL-3.0, ...) with its licence.
EOF
rm -f "$REPO/dist/smsdesk-$VERSION-linux-$UARCH.tar.gz"
tar -C "$STAGE" --owner=0 --group=0 --numeric-owner -cf - "smsdesk-$VERSION" |
    xz -T0 -9 >"$TARBALL"
fi

echo "== .deb"
# Layout (see packaging/README.md, "Upgrades"): dpkg owns /usr/lib/smsdesk/VERSION; the
# postinst hard-links it to /opt/smsdesk/VERSION and switches /opt/smsdesk/current to it in
# one rename. A running smsdesk keeps its own tree, so an upgrade never changes its files.
ROOT="$STAGE/deb"
PAYLOAD="usr/lib/smsdesk/$VERSION"
mkdir -p "$ROOT/usr/lib/smsdesk" "$ROOT/usr/bin" "$ROOT/DEBIAN"
cp -a "$BUNDLE" "$ROOT/$PAYLOAD"
install -m755 packaging/debian/prune-versions "$ROOT/usr/lib/smsdesk/prune-versions"
ln -s /opt/smsdesk/current/smsdesk "$ROOT/usr/bin/smsdesk"
install_share "$ROOT/usr"
DOC="$ROOT/usr/share/doc/smsdesk"
install -Dm644 "$NOTICES" "$DOC/THIRD_PARTY_NOTICES.txt"
gzip -9n <packaging/debian/changelog >"$DOC/changelog.gz"
chmod 644 "$DOC/changelog.gz"
# copyright: the machine-readable header, then each licence's text as a paragraph
# (continuation lines start with a space, blank lines are " .").
as_paragraph() { sed -e 's/^[[:space:]]*$/./' -e 's/^/ /'; }
{
    cat packaging/debian/copyright.in
    printf 'License: MIT\n'; as_paragraph <"$SRC/LICENSE"
    printf '\nLicense: LGPL-3.0-only\n'; as_paragraph <packaging/licenses/LGPL-3.0.txt
    printf '\nLicense: GPL-3.0-only\n'; as_paragraph <packaging/licenses/GPL-3.0.txt
} >"$DOC/copyright"
for script in postinst postrm; do
    sed "s/@VERSION@/$VERSION/g" "packaging/debian/$script" >"$ROOT/DEBIAN/$script"
    chmod 755 "$ROOT/DEBIAN/$script"
done

# Depends, 1: what the bundle's binaries need from the system and does not carry, with the
# lowest versions that provide the symbols they use (dpkg-shlibdeps reads the symbols files
# of the build machine's packages: libc6 (>= X) is the newest GLIBC_* symbol used).
SHLIBS="$STAGE/shlibdeps"
mkdir -p "$SHLIBS/debian"
printf 'Source: smsdesk\n\nPackage: smsdesk\nArchitecture: any\n' >"$SHLIBS/debian/control"
mapfile -d '' elfs < <(find "$ROOT/$PAYLOAD" -type f \( -name '*.so*' -o -name smsdesk \) -print0)
mapfile -t libdirs < <(find "$ROOT/$PAYLOAD" -type f -name '*.so*' -printf '%h\n' | sort -u)
shlibs="$(cd "$SHLIBS" && dpkg-shlibdeps -O --ignore-missing-info --warnings=0 \
    "${libdirs[@]/#/-l}" "${elfs[@]}" 2>"$STAGE/shlibdeps.log")" ||
    { cat "$STAGE/shlibdeps.log" >&2; echo "dpkg-shlibdeps failed" >&2; exit 1; }
# dpkg-shlibdeps also names the packages of libraries the bundle carries itself (it finds
# the build machine's copies too); keep only the packages of libraries the bundle lacks.
missing_sonames() {
    local bundled
    bundled="$(find "$BUNDLE" \( -type f -o -type l \) -name '*.so*' -printf '%f\n' | sort -u)"
    elf_files | xargs -0 readelf -d 2>/dev/null |
        sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u |
        grep -vxF -f <(printf '%s\n' "$bundled") || true
}
needed_pkgs=()
while read -r soname; do
    [[ -n "$soname" ]] || continue
    # awk reads to the end: exiting early would kill ldconfig with SIGPIPE (pipefail).
    path="$(ldconfig -p | awk -v s="$soname" '$1 == s && /x86-64|AArch64|aarch64/ && !p {print $NF; p = 1}')"
    [[ -n "$path" ]] || { echo "   $soname is needed but not on this machine" >&2; exit 1; }
    pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)"
    [[ -n "$pkg" ]] || { echo "   no package owns $path" >&2; exit 1; }
    needed_pkgs+=("${pkg%%:*}")
done < <(missing_sonames)
SHLIBS_DEPENDS="$(sed 's/^shlibs:Depends=//; s/, /\n/g' <<<"$shlibs" |
    grep -E "^($(printf '%s\n' "${needed_pkgs[@]}" | sort -u | sed 's/[+.]/\\&/g' | paste -sd'|')) " |
    paste -sd, | sed 's/,/, /g')"
for pkg in $(printf '%s\n' "${needed_pkgs[@]}" | sort -u); do
    grep -qE "(^|, )$pkg( |,|$)" <<<"$SHLIBS_DEPENDS" || SHLIBS_DEPENDS="$SHLIBS_DEPENDS, $pkg"
done
grep -q 'libc6 (>= ' <<<"$SHLIBS_DEPENDS" || { echo "no libc6 floor in: $SHLIBS_DEPENDS" >&2; exit 1; }
# Cross-check: the newest GLIBC_* symbol version any bundled binary asks for.
GLIBC_FLOOR="$(elf_files | xargs -0 readelf -V --wide 2>/dev/null |
    grep -o 'Name: GLIBC_[0-9.]*' | sed 's/Name: GLIBC_//' | sort -uV | tail -n1)"
echo "   newest GLIBC symbol version used: $GLIBC_FLOOR"
# Depends, 2: fonts. Qt draws no glyph without fontconfig's configuration and one font
# family; colour emoji and the other scripts (smsdesk/ui/fonts.py) are recommendations.
DEPENDS="$SHLIBS_DEPENDS, fontconfig-config, fonts-dejavu-core | fonts-liberation2 | fonts-noto-core | fonts-freefont-ttf"

# Recommends: a Secret Service keyring for the API keys (GNOME Keyring, or KeePassXC with its
# Secret Service integration; KWallet 5.97+ serves it too once switched on). KWallet's own
# interface is not claimed: keyring reaches it only through dbus-python, which is not bundled.
cat >"$ROOT/DEBIAN/control" <<EOF
Package: smsdesk
Version: $VERSION
Architecture: $ARCH
Maintainer: The smsdesk developers <smsdesk@users.noreply.github.com>
Installed-Size: $(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
Depends: $DEPENDS
Recommends: fonts-noto-color-emoji, fonts-noto-core, fonts-noto-cjk, gnome-keyring | keepassxc
Section: utils
Priority: optional
Homepage: https://github.com/smsdesk/smsdesk
Description: schedule text messages from your desk
 smsdesk keeps a durable local outbox of SMS reminders and hands each one to
 your SMS provider (Infobip, Telnyx, Kaleyra, or the built-in Sandbox) at the
 right moment. Self-contained build: Python and Qt are bundled; each version
 lives in /opt/smsdesk/VERSION so an upgrade never disturbs a running window.
EOF
DEB="$REPO/dist/smsdesk_${VERSION}_${ARCH}.deb"
level=9
[[ -n "${SMSDESK_FAST_COMPRESSION:-}" ]] && level=1
dpkg-deb --root-owner-group -Zxz "-z$level" --build "$ROOT" "$DEB" >/dev/null
dpkg-deb --info "$DEB" | sed -n '/Package:/,/Recommends:/p'

# The .rpm (Fedora, RHEL 9 and alike): the same tree and upgrade rules, from
# packaging/rpm/smsdesk.spec.in. Requires are by library name, as rpm's own tools would write
# them, so they mean the same on every rpm distribution: libc.so.6(GLIBC_X)(64bit) is the
# glibc floor.
RPM=""
if [[ -n "${SMSDESK_DEB_ONLY:-}" ]]; then
    :
elif ! command -v rpmbuild >/dev/null; then
    echo "== .rpm NOT BUILT: rpmbuild is missing (apt-get install rpm)"
else
    echo "== .rpm"
    RPMTOP="$STAGE/rpm"
    mkdir -p "$RPMTOP"/{BUILD,RPMS,SPECS,BUILDROOT}
    rpm_requires="libc.so.6(GLIBC_$GLIBC_FLOOR)(64bit)"
    while read -r soname; do
        [[ -n "$soname" ]] && rpm_requires="$rpm_requires, $soname()(64bit)"
    done < <(missing_sonames)
    # %post is the .deb's postinst (rpm calls it with 1 or 2, not "configure").
    sed -e "s/@VERSION@/$VERSION/g" -e 's/^if \[ "\$1" = configure \]; then$/if true; then/' \
        -e '/^#!/d' packaging/debian/postinst >"$RPMTOP/post.sh"
    awk -v post="$RPMTOP/post.sh" '
        $0 == "@POSTINST@" { while ((getline line < post) > 0) print line; next }
        { print }' packaging/rpm/smsdesk.spec.in |
        sed -e "s|@VERSION@|$VERSION|g" -e "s|@ARCH@|$UARCH|g" -e "s|@STAGED@|$ROOT|g" \
            -e "s|@REQUIRES@|$rpm_requires|g" -e '/^@/d' >"$RPMTOP/SPECS/smsdesk.spec"
    # rpmbuild copies everything but DEBIAN/ (the .deb's control files) into its buildroot.
    mv "$ROOT/DEBIAN" "$STAGE/DEBIAN.aside"
    rpmbuild --quiet -bb --define "_topdir $RPMTOP" --define "_binary_payload w$level.xzdio" \
        "$RPMTOP/SPECS/smsdesk.spec" \
        >"$STAGE/rpmbuild.log" 2>&1 || { cat "$STAGE/rpmbuild.log" >&2; exit 1; }
    mv "$STAGE/DEBIAN.aside" "$ROOT/DEBIAN"
    RPM="$REPO/dist/smsdesk-$VERSION-1.$UARCH.rpm"
    mv "$RPMTOP/RPMS/$UARCH/smsdesk-$VERSION-1.$UARCH.rpm" "$RPM"
    rpm -qp --requires "$RPM" | sed 's/^/   Requires: /'
fi

elapsed=$(( $(date +%s) - started ))
echo "== done in ${elapsed}s (PyInstaller and before: $(( froze - started ))s)"
du -sh "$BUNDLE"
for f in "$DEB" "$RPM" "$TARBALL"; do [[ ! -f "$f" ]] || ls -lh "$f" | awk '{print $5, $9}'; done
