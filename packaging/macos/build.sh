#!/usr/bin/env bash
# Builds smsdesk for macOS: dist/SmsDesk.app and dist/smsdesk-VERSION-macos-ARCH.dmg,
# signed and notarised when the credentials are in the environment.
#
# usage: bash packaging/macos/build.sh
# Needs: Xcode command-line tools (codesign, hdiutil, xcrun notarytool/stapler) and
# Python 3.11+ (python.org installer or Homebrew; PYTHON=... to choose). The build is for the
# machine's own architecture (arm64 on Apple silicon, x86_64 on Intel); the release workflow
# runs it on both (not every bundled wheel is published as universal2). macOS 13 or newer
# (PySide6 6.11's floor; LSMinimumSystemVersion says so).
#
# Signing and notarisation (all optional; without them the app is ad-hoc signed, which runs
# on the build machine, and Gatekeeper will refuse it elsewhere):
#   MACOS_SIGN_IDENTITY   "Developer ID Application: Name (TEAMID)", in the login keychain
#                         (CI imports it from a .p12 first; see .github/workflows/release.yml)
#   and for notarisation, either
#   MACOS_NOTARY_PROFILE  a profile saved with `xcrun notarytool store-credentials`
#   or all of
#   MACOS_NOTARY_APPLE_ID, MACOS_NOTARY_TEAM_ID, MACOS_NOTARY_PASSWORD (an app-specific password)
# None of these belong in the repository. SMSDESK_REQUIRE_SIGNING=1 (a tagged release) makes
# the build fail without them instead of producing an ad-hoc signed app.
# Order: sign every binary with the hardened runtime, smoke-test that signed app, notarise and
# staple the app, put it in the .dmg, sign, notarise and staple the .dmg.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
VENV="$REPO/build/venv-macos"
started=$(date +%s)

echo "== build environment ($VENV)"
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# smsdesk's dependencies, PyInstaller, and Pillow (turns the PNG icon into the .icns).
# pip-licenses writes THIRD_PARTY_NOTICES.txt during the freeze (build time only).
# Exact versions, the same on every platform (packaging/constraints.txt).
"$VENV/bin/python" -m pip install --quiet -c "$REPO/packaging/constraints.txt" \
    "$REPO[postgres]" "pyinstaller>=6.10,<7" pillow "pip-licenses>=5,<6"

echo "== PyInstaller"
rm -rf "$REPO/dist/SmsDesk.app"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$REPO/dist" --workpath "$REPO/build/pyinstaller" \
    packaging/pyinstaller/smsdesk.spec

APP="$REPO/dist/SmsDesk.app"
EXE="$APP/Contents/MacOS/smsdesk"
VERSION="$("$EXE" --version | cut -d' ' -f2)"
ARCH="$(uname -m)"
DMG="$REPO/dist/smsdesk-$VERSION-macos-$ARCH.dmg"
echo "== smsdesk $VERSION ($ARCH)"

# --- signing: inside out, every Mach-O first, then the bundle ----------------------------
IDENTITY="${MACOS_SIGN_IDENTITY:--}"   # "-" = ad-hoc
NOTARISE=no
[[ "$IDENTITY" != "-" && -n "${MACOS_NOTARY_PROFILE:-}${MACOS_NOTARY_APPLE_ID:-}" ]] && NOTARISE=yes
if [[ "${SMSDESK_REQUIRE_SIGNING:-}" == 1 && "$NOTARISE" != yes ]]; then
    echo "SMSDESK_REQUIRE_SIGNING=1 but no signing identity and notary credentials" >&2
    exit 1
fi
sign() {
    local extra=()
    [[ "$IDENTITY" != "-" ]] && extra=(--timestamp --options runtime
        --entitlements "$REPO/packaging/macos/entitlements.plist")
    codesign --force --sign "$IDENTITY" ${extra[@]+"${extra[@]}"} "$@"
}
echo "== codesign ($IDENTITY)"
while IFS= read -r -d '' f; do
    if file "$f" | grep -q "Mach-O"; then sign "$f"; fi
done < <(find "$APP/Contents" -type f \( -name "*.so" -o -name "*.dylib" -o -perm -u+x \) -print0)
# Qt frameworks inside the bundle are signed as bundles.
while IFS= read -r -d '' fw; do sign "$fw"; done < <(find "$APP/Contents" -type d -name "*.framework" -print0)
sign "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"

# --- smoke test of the app as shipped: signed, with the hardened runtime ------------------
# (The runtime refuses what the entitlements do not allow, e.g. unsigned libraries: test
# after signing, not before.)
echo "== smoke test of the signed app (temporary data folder)"
SMOKE_HOME="$(mktemp -d)"
(
    export SMSDESK_HOME="$SMOKE_HOME"
    "$EXE" --version | grep -qx "smsdesk $VERSION"
    at="$(date -u -v+2d +%Y-%m-%dT%H:%M:%SZ)"
    id="$("$EXE" schedule --to +15551234567 --text smoke --at "$at" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"][0]["message"]["id"])')"
    "$EXE" dispatch --once
    "$EXE" show "$id" --json | grep -q '"state": "scheduled"'
    # The window: starts offscreen and is still running after 10 s.
    QT_QPA_PLATFORM=offscreen "$EXE" & gui=$!
    sleep 10
    kill -0 "$gui"   # fails the build if the window exited
    kill "$gui"
)
rm -rf "$SMOKE_HOME"
# (provider add is not run here: on CI the login keychain may ask for a password.)

notarise() {  # $1: a .zip of the app, or the .dmg
    local auth
    if [[ -n "${MACOS_NOTARY_PROFILE:-}" ]]; then
        auth=(--keychain-profile "$MACOS_NOTARY_PROFILE")
    else
        auth=(--apple-id "$MACOS_NOTARY_APPLE_ID" --team-id "$MACOS_NOTARY_TEAM_ID"
            --password "$MACOS_NOTARY_PASSWORD")
    fi
    xcrun notarytool submit "$1" "${auth[@]}" --wait --timeout 30m
}

# --- the app itself notarised and stapled: it then opens offline, also copied out of the
# disk image (a ticket stapled only to the .dmg does not travel with the app).
if [[ "$NOTARISE" == yes ]]; then
    echo "== notarytool: the app (waits for Apple)"
    ZIP="$REPO/build/SmsDesk-notarise.zip"
    rm -f "$ZIP"
    ditto -c -k --keepParent "$APP" "$ZIP"
    notarise "$ZIP"
    xcrun stapler staple "$APP"
    xcrun stapler validate "$APP"
    spctl --assess --type execute --verbose "$APP"
    rm -f "$ZIP"
fi

# --- the disk image --------------------------------------------------------------------
echo "== dmg"
STAGE="$REPO/build/dmg-stage"
rm -rf "$STAGE" "$DMG" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "smsdesk $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
[[ "$IDENTITY" != "-" ]] && codesign --force --timestamp --sign "$IDENTITY" "$DMG"

if [[ "$NOTARISE" == yes ]]; then
    echo "== notarytool: the dmg (waits for Apple)"
    notarise "$DMG"
    xcrun stapler staple "$DMG"
    xcrun stapler validate "$DMG"
    spctl --assess --type open --context context:primary-signature --verbose "$DMG"
else
    echo "== not notarised (set MACOS_SIGN_IDENTITY and MACOS_NOTARY_* to notarise)"
fi

echo "== done in $(( $(date +%s) - started ))s"
du -sh "$APP"
ls -lh "$DMG"
