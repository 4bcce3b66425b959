#!/usr/bin/env bash
# Smoke test of the Linux packages that packaging/linux/build.sh left in dist/.
# Not part of pytest (the build takes minutes). Takes about two minutes: it waits for a
# message scheduled 70 seconds ahead to be delivered by the Sandbox.
#
# usage: bash packaging/linux/smoke.sh
#
# It runs the frozen app from the portable tarball, headless (QT_QPA_PLATFORM=offscreen),
# against a temporary SMSDESK_HOME and a temporary HOME, inside its own D-Bus session with a
# real gnome-keyring (Secret Service) unlocked with an empty password, then installs the
# .deb into a scratch root and checks what it installs.
# Needs: dbus-run-session (dbus), gnome-keyring-daemon (gnome-keyring), secret-tool
# (libsecret-tools), desktop-file-validate, appstreamcli, python3 (to read JSON).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
APP_ID="io.github.smsdesk.SmsDesk"

if [[ "${1:-}" != "--inside-session" ]]; then
    for tool in dbus-run-session gnome-keyring-daemon secret-tool desktop-file-validate \
        appstreamcli python3 dpkg-deb; do
        command -v "$tool" >/dev/null || {
            echo "missing $tool: apt-get install dbus gnome-keyring libsecret-tools" \
                "desktop-file-utils appstream" >&2
            exit 1
        }
    done
    # A private session bus, so the keyring below is ours and goes away with the test.
    exec dbus-run-session -- bash "${BASH_SOURCE[0]}" --inside-session
fi

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'SMOKE FAILED: %s\n' "$*" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# `show ID --json` gives a list (a message, or every message of a batch).
state_of() { "$APP" show "$1" --json | json '(d[0] if isinstance(d, list) else d)["state"]'; }

TMP="$(mktemp -d /tmp/smsdesk-smoke.XXXXXX)"
GUI_PID=""
KEYRING_PID=""
cleanup() {
    [[ -n "$GUI_PID" ]] && kill "$GUI_PID" 2>/dev/null || true
    [[ -n "$KEYRING_PID" ]] && kill "$KEYRING_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

[[ -x "$REPO/dist/smsdesk/smsdesk" ]] || fail "build first: bash packaging/linux/build.sh"
VERSION="$("$REPO/dist/smsdesk/smsdesk" --version | cut -d' ' -f2)"
TARBALL="$REPO/dist/smsdesk-$VERSION-linux-$(uname -m).tar.gz"
DEB="$REPO/dist/smsdesk_${VERSION}_$(dpkg --print-architecture).deb"
[[ -f "$TARBALL" && -f "$DEB" ]] || fail "build first: bash packaging/linux/build.sh ($TARBALL, $DEB)"

# Nothing of the user running the test is touched: own HOME, XDG dirs and data folder.
export HOME="$TMP/home" XDG_DATA_HOME="$TMP/home/.local/share" XDG_CONFIG_HOME="$TMP/home/.config"
export XDG_RUNTIME_DIR="$TMP/run" SMSDESK_HOME="$TMP/data" TZ=UTC
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
unset PYTHON_KEYRING_BACKEND DISPLAY WAYLAND_DISPLAY

step "unpack the portable tarball"
tar -xzf "$TARBALL" -C "$TMP"
APP="$TMP/smsdesk-$VERSION/smsdesk"
"$APP" --version | grep -qx "smsdesk $VERSION" || fail "--version"

step "keyring: gnome-keyring (Secret Service) on a private D-Bus session"
# An empty password (one empty line) on stdin creates and unlocks the "login" keyring, so
# nothing prompts.
eval "$(echo "" | gnome-keyring-daemon --unlock --components=secrets)"
KEYRING_PID="${GNOME_KEYRING_PID:-}"
export GNOME_KEYRING_CONTROL
sleep 1
secret-tool store --label=smoke-probe smoke probe <<<"probe" || fail "keyring not usable"
[[ "$(secret-tool lookup smoke probe)" == "probe" ]] || fail "keyring round trip"

step "window: start headless, prove it is up, then a second launch hands over to it"
QT_QPA_PLATFORM=offscreen "$APP" >"$TMP/gui.log" 2>&1 &
GUI_PID=$!
for _ in $(seq 1 30); do
    [[ -f "$SMSDESK_HOME/smsdesk.db" ]] && break
    sleep 0.5
done
sleep 3
kill -0 "$GUI_PID" 2>/dev/null || { cat "$TMP/gui.log"; fail "the window process exited"; }
[[ -f "$SMSDESK_HOME/smsdesk.db" ]] || fail "the window did not open its database"
# The first instance listens on its single-instance socket; a second launch must ask it to
# come to the front and exit 0 at once instead of opening another window.
QT_QPA_PLATFORM=offscreen timeout 10 "$APP" >"$TMP/gui2.log" 2>&1 ||
    { cat "$TMP/gui2.log"; fail "second launch did not hand over (exit $?)"; }
kill -0 "$GUI_PID" 2>/dev/null || fail "the first window died when the second launched"
if grep -E "Traceback|Error|could not load the Qt platform plugin" "$TMP/gui.log"; then
    fail "errors from the window (above)"
fi
kill "$GUI_PID"
wait "$GUI_PID" 2>/dev/null || true
GUI_PID=""
echo "window ran, held the single-instance socket, no errors"

step "CLI: schedule on the Sandbox 70 s ahead, hand off, wait, dispatch, delivered"
AT="$(date -u -d '+70 seconds' +%Y-%m-%dT%H:%M:%SZ)"
# Quiet hours would move a message sent at night to 08:00; this test is about the bundle.
"$APP" settings --quiet-mode off >/dev/null
"$APP" schedule --to +15551234567 --text "smoke test" --at "$AT" --json >"$TMP/schedule.json"
ID="$(json 'd["messages"][0]["message"]["id"]' <"$TMP/schedule.json")"
echo "scheduled $ID for $AT"
"$APP" dispatch --once --json | json 'd' >/dev/null
state="$(state_of "$ID")"
echo "after the first pass: $state"
wait_until=$(( $(date -u -d "$AT" +%s) + 2 ))
while (( $(date +%s) < wait_until )); do sleep 5; done
for attempt in 1 2 3 4 5 6; do
    "$APP" dispatch --once >/dev/null
    state="$(state_of "$ID")"
    echo "pass $attempt after the send time: $state"
    [[ "$state" == "delivered" ]] && break
    sleep 5
done
[[ "$state" == "delivered" ]] || fail "message $ID is $state, not delivered"

step "CLI: provider add for a kind that needs an API key stores it in the keyring"
KEY="smoke-key-$RANDOM$RANDOM"
printf '%s\n' "$KEY" | "$APP" provider add "Clinic Telnyx" --kind telnyx \
    --sender +15551230000 --json >/dev/null || fail "provider add"
"$APP" provider list --json | json '[a["name"] for a in d]' | grep -q "Clinic Telnyx" ||
    fail "account not listed"
# The key is in gnome-keyring under service 'smsdesk' (so the frozen keyring resolved to
# the SecretService backend, not keyring.backends.fail) and nowhere in the data folder.
secret-tool search --all service smsdesk 2>/dev/null | grep -q "secret = $KEY" ||
    fail "the API key is not in the Secret Service keyring"
if grep -rqa "$KEY" "$SMSDESK_HOME"; then fail "the API key leaked into $SMSDESK_HOME"; fi
echo "key stored in the Secret Service keyring, not in the data folder"

step "frozen contents: keyring backends and provider modules are inside"
PYZ_LIST="$TMP/pyz.txt"
if [[ -x "$REPO/build/venv/bin/pyi-archive_viewer" ]]; then
    "$REPO/build/venv/bin/pyi-archive_viewer" --list --recursive --brief "$APP" | sed "s/^ *//" >"$PYZ_LIST"
    for mod in keyring.backends.SecretService keyring.backends.kwallet secretstorage \
        smsdesk.providers.sandbox smsdesk.providers.infobip smsdesk.providers.telnyx \
        smsdesk.providers.kaleyra tzdata; do
        grep -qx "$mod" "$PYZ_LIST" || fail "$mod is not frozen in"
    done
    echo "ok"
else
    echo "skipped (no build/venv)"
fi
ls "$TMP/smsdesk-$VERSION/_internal/smsdesk/store/migrations/versions/"*.py >/dev/null ||
    fail "migrations not bundled"

step ".deb: unpack into a scratch root and check it"
ROOT="$TMP/root"
dpkg-deb -x "$DEB" "$ROOT"
dpkg-deb --info "$DEB" | grep -E "^ (Package|Version|Architecture|Depends):"
for f in opt/smsdesk/smsdesk "usr/share/applications/$APP_ID.desktop" \
    "usr/share/metainfo/$APP_ID.metainfo.xml" "usr/share/icons/hicolor/scalable/apps/$APP_ID.svg" \
    "usr/share/icons/hicolor/48x48/apps/$APP_ID.png" "usr/share/icons/hicolor/256x256/apps/$APP_ID.png" \
    usr/share/doc/smsdesk/copyright; do
    [[ -e "$ROOT/$f" ]] || fail "missing /$f"
done
[[ "$(readlink "$ROOT/usr/bin/smsdesk")" == /opt/smsdesk/smsdesk ]] ||
    fail "/usr/bin/smsdesk is not a link to /opt/smsdesk/smsdesk"
desktop-file-validate "$ROOT/usr/share/applications/$APP_ID.desktop"
appstreamcli validate --no-net "$ROOT/usr/share/metainfo/$APP_ID.metainfo.xml" >/dev/null
grep -qx "Exec=smsdesk" "$ROOT/usr/share/applications/$APP_ID.desktop" || fail "launcher Exec"
grep -qx "Icon=$APP_ID" "$ROOT/usr/share/applications/$APP_ID.desktop" || fail "launcher Icon"
# /usr/bin/smsdesk is an absolute link; in the scratch root, run the installed binary both
# directly and through a symlink (as the launcher's Exec=smsdesk does).
"$ROOT/opt/smsdesk/smsdesk" --version | grep -qx "smsdesk $VERSION" || fail "installed --version"
(cd "$TMP" && ln -sf "$ROOT/opt/smsdesk/smsdesk" usr-bin-smsdesk && ./usr-bin-smsdesk --version) |
    grep -qx "smsdesk $VERSION" || fail "--version through a symlink"
echo "deb layout, launcher and installed binary ok"

printf '\nSMOKE PASSED (smsdesk %s)\n' "$VERSION"
