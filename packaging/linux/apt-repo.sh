#!/usr/bin/env bash
# Lays out a signed apt repository for smsdesk, and the release feed the app reads, so a
# clinic gets fixes (to smsdesk and to the OpenSSL, Qt and SQLite inside it) with apt.
#
# usage: bash packaging/linux/apt-repo.sh OUT_DIR DEB...
# env:   APT_SIGNING_KEY_ID   the GnuPG key (already in the keyring) that signs Release
#        RELEASE_PAGE_URL     the release's web page for the feed (default: the GitHub tag)
#
# OUT_DIR then holds, ready to serve as static files:
#   pool/main/s/smsdesk/smsdesk_VERSION_ARCH.deb
#   dists/stable/main/binary-ARCH/Packages{,.gz,.xz}
#   dists/stable/Release, Release.gpg (detached) and InRelease (clear-signed)
#   smsdesk-archive-keyring.gpg   the public key, for /etc/apt/keyrings/
#   latest.json                   {"version": ..., "url": ...}: smsdesk's "newer version" feed
# A clinic adds it with
#   curl -fsSLo /etc/apt/keyrings/smsdesk.gpg https://HOST/smsdesk-archive-keyring.gpg
#   echo "deb [signed-by=/etc/apt/keyrings/smsdesk.gpg] https://HOST stable main" \
#       >/etc/apt/sources.list.d/smsdesk.list
# Needs: dpkg-scanpackages (dpkg-dev), gpg, gzip, xz.
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: bash packaging/linux/apt-repo.sh OUT_DIR DEB..." >&2; exit 2; }
OUT="$1"
shift
: "${APT_SIGNING_KEY_ID:?set APT_SIGNING_KEY_ID: an unsigned repository is refused by apt}"
SUITE=stable
COMPONENT=main

mkdir -p "$OUT/pool/$COMPONENT/s/smsdesk"
for deb in "$@"; do
    cp "$deb" "$OUT/pool/$COMPONENT/s/smsdesk/"
done
version=""
archs=()
for deb in "$OUT/pool/$COMPONENT/s/smsdesk/"*.deb; do
    archs+=("$(dpkg-deb --field "$deb" Architecture)")
    v="$(dpkg-deb --field "$deb" Version)"
    if [[ -z "$version" ]] || dpkg --compare-versions "$v" gt "$version"; then version="$v"; fi
done
mapfile -t archs < <(printf '%s\n' "${archs[@]}" | sort -u)

cd "$OUT"
for arch in "${archs[@]}"; do
    dir="dists/$SUITE/$COMPONENT/binary-$arch"
    mkdir -p "$dir"
    # Paths in Packages are relative to OUT, where apt's "deb URL" points.
    dpkg-scanpackages --arch "$arch" --multiversion "pool/$COMPONENT" >"$dir/Packages" 2>/dev/null
    gzip -9nk -f "$dir/Packages"
    xz -9k -f "$dir/Packages"
done

release="dists/$SUITE/Release"
{
    echo "Origin: smsdesk"
    echo "Label: smsdesk"
    echo "Suite: $SUITE"
    echo "Codename: $SUITE"
    echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
    echo "Architectures: ${archs[*]}"
    echo "Components: $COMPONENT"
    echo "Description: smsdesk, self-contained builds"
    echo "SHA256:"
    (cd "dists/$SUITE" && find "$COMPONENT" -type f -name 'Packages*' | sort |
        while read -r f; do
            printf ' %s %s %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c%s "$f")" "$f"
        done)
} >"$release"
rm -f "$release.gpg" "dists/$SUITE/InRelease"
gpg --batch --yes --local-user "$APT_SIGNING_KEY_ID" --armor --detach-sign \
    --output "$release.gpg" "$release"
gpg --batch --yes --local-user "$APT_SIGNING_KEY_ID" --clearsign \
    --output "dists/$SUITE/InRelease" "$release"
gpg --batch --yes --export "$APT_SIGNING_KEY_ID" >smsdesk-archive-keyring.gpg

page="${RELEASE_PAGE_URL:-https://github.com/smsdesk/smsdesk/releases/tag/v$version}"
printf '{"version": "%s", "url": "%s"}\n' "$version" "$page" >latest.json
echo "apt repository for smsdesk $version (${archs[*]}) in $OUT"
