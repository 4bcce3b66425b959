#!/usr/bin/env bash
# Smoke test of the Linux packages that packaging/linux/build.sh left in dist/.
# Not part of pytest (the build takes minutes). Takes a few minutes: it waits for messages
# scheduled about a minute ahead to be delivered by the Sandbox.
#
# usage: bash packaging/linux/smoke.sh
# env:   SMSDESK_TEST_PG_URL   a PostgreSQL role that may create databases, for PostgreSQL
#                              mode (postgresql+psycopg://user:pass@127.0.0.1:5432/db);
#                              SMOKE_NO_POSTGRES=1 skips that part (and says so)
#        SMOKE_DEBIAN_BASE     a debootstrapped Debian root to copy for the clean install
#                              (default build/debian-bookworm; made with debootstrap if absent)
#
# It runs the frozen app from the portable tarball, headless (QT_QPA_PLATFORM=offscreen),
# against a temporary SMSDESK_HOME and a temporary HOME, inside its own D-Bus session with a
# real gnome-keyring (Secret Service) unlocked with an empty password, on SQLite and on
# PostgreSQL; checks the .deb's layout; then, as root, installs the .deb with apt-get into a
# clean Debian root, opens the window there on Xvfb (dist/smoke-window.png), upgrades to a
# second build while the agent runs, and purges.
# Needs: dbus-run-session (dbus), gnome-keyring-daemon (gnome-keyring), secret-tool
# (libsecret-tools), desktop-file-validate, appstreamcli, python3 (to read JSON), psql
# (postgresql-client); for the clean root: debootstrap, Xvfb (xvfb), import (imagemagick).
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
XVFB_PID=""
AGENT_PID=""
PG_ADMIN=""
PG_DB=""
CROOT=""
cleanup() {
    [[ -n "$GUI_PID" ]] && kill "$GUI_PID" 2>/dev/null || true
    [[ -n "$AGENT_PID" ]] && kill "$AGENT_PID" 2>/dev/null || true
    [[ -n "$XVFB_PID" ]] && kill "$XVFB_PID" 2>/dev/null || true
    [[ -n "$KEYRING_PID" ]] && kill "$KEYRING_PID" 2>/dev/null || true
    [[ -n "$PG_DB" ]] && psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" || true
    if [[ -n "$CROOT" ]]; then
        for m in tmp/.X11-unix dev proc; do umount -l "$CROOT/$m" 2>/dev/null || true; done
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

[[ -x "$REPO/dist/smsdesk/smsdesk" ]] || fail "build first: bash packaging/linux/build.sh"
VERSION="$("$REPO/dist/smsdesk/smsdesk" --version | cut -d' ' -f2)"
TARBALL="$REPO/dist/smsdesk-$VERSION-linux-$(uname -m).tar.xz"
DEB="$REPO/dist/smsdesk_${VERSION}_$(dpkg --print-architecture).deb"
[[ -f "$TARBALL" && -f "$DEB" ]] || fail "build first: bash packaging/linux/build.sh ($TARBALL, $DEB)"

# Nothing of the user running the test is touched: own HOME, XDG dirs and data folder.
export HOME="$TMP/home" XDG_DATA_HOME="$TMP/home/.local/share" XDG_CONFIG_HOME="$TMP/home/.config"
export XDG_RUNTIME_DIR="$TMP/run" SMSDESK_HOME="$TMP/data" TZ=UTC
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
unset PYTHON_KEYRING_BACKEND DISPLAY WAYLAND_DISPLAY

step "unpack the portable tarball"
tar -xJf "$TARBALL" -C "$TMP"
APP="$TMP/smsdesk-$VERSION/smsdesk"
"$APP" --version | grep -qx "smsdesk $VERSION" || fail "--version"

step "licences: LICENSE and THIRD_PARTY_NOTICES.txt beside the program and in the bundle"
TOP="$TMP/smsdesk-$VERSION"
NOTICES="$TOP/_internal/smsdesk/THIRD_PARTY_NOTICES.txt"   # where smsdesk.legal finds it
for f in "$TOP/LICENSE" "$TOP/THIRD_PARTY_NOTICES.txt" "$TOP/_internal/smsdesk/LICENSE" "$NOTICES"; do
    [[ -s "$f" ]] || fail "missing $f"
done
grep -q "^MIT License" "$TOP/LICENSE" || fail "LICENSE is not the MIT licence"
for needle in "GNU LESSER GENERAL PUBLIC LICENSE" "GNU GENERAL PUBLIC LICENSE" \
    "--- PySide6_Essentials " "--- shiboken6 " "--- psycopg " "--- httpx " "--- keyring " \
    "PYTHON SOFTWARE FOUNDATION LICENSE"; do
    grep -qF -- "$needle" "$NOTICES" || fail "THIRD_PARTY_NOTICES.txt lacks '$needle'"
done
if find "$TOP" \( -name 'libreadline*' -o -name 'readline.cpython*' -o -name 'libQt6EglFS*' \) | grep .; then
    fail "GNU readline or Qt EglFS is bundled (above)"
fi
if find "$TOP" -type f -name '*.so*' -print0 | xargs -0 readelf -d 2>/dev/null |
    grep -E '\((RUNPATH|RPATH)\)' | grep -v 'path: \[\$ORIGIN[^]]*\]$'; then
    fail "a RUNPATH of the build machine is left (above)"
fi
echo "licences shipped, no readline/EglFS, no foreign RUNPATH"

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

# PostgreSQL mode (shared office): the same, in a fresh database on the given server.
PG_URL="${SMSDESK_TEST_PG_URL:-}"
if [[ -n "$PG_URL" ]]; then
    command -v psql >/dev/null || fail "missing psql: apt-get install postgresql-client"
    PG_ADMIN="${PG_URL/+psycopg/}"
    PG_DB="smsdesk_smoke_$RANDOM$RANDOM"
    psql -q "$PG_ADMIN" -c "CREATE DATABASE \"$PG_DB\"" || fail "cannot create a PostgreSQL database"
    PGAPP() { SMSDESK_DATABASE_URL="${PG_URL%/*}/$PG_DB" "$APP" "$@"; }
    PGAPP settings --quiet-mode off >/dev/null || fail "PostgreSQL mode: settings"
    PGAPP schedule --to +15551234568 --text "smoke test (PostgreSQL)" --at "$AT" --json \
        >"$TMP/schedule-pg.json" || fail "PostgreSQL mode: schedule"
    PG_ID="$(json 'd["messages"][0]["message"]["id"]' <"$TMP/schedule-pg.json")"
    PGAPP dispatch --once >/dev/null || fail "PostgreSQL mode: dispatch"
    psql -qtA "${PG_ADMIN%/*}/$PG_DB" -c "select count(*) from message" | grep -qx 1 ||
        fail "PostgreSQL mode: the message is not in the PostgreSQL database"
    echo "PostgreSQL: scheduled $PG_ID in database $PG_DB"
elif [[ "${SMOKE_NO_POSTGRES:-}" == 1 ]]; then
    echo "PostgreSQL mode NOT TESTED (SMOKE_NO_POSTGRES=1)"
else
    fail "set SMSDESK_TEST_PG_URL (a role that may create databases), or SMOKE_NO_POSTGRES=1"
fi

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
if [[ -n "$PG_DB" ]]; then
    for attempt in 1 2 3 4 5 6; do
        PGAPP dispatch --once >/dev/null
        state="$(SMSDESK_DATABASE_URL="${PG_URL%/*}/$PG_DB" state_of "$PG_ID")"
        echo "PostgreSQL pass $attempt after the send time: $state"
        [[ "$state" == "delivered" ]] && break
        sleep 5
    done
    [[ "$state" == "delivered" ]] || fail "PostgreSQL mode: message $PG_ID is $state"
fi

step "CLI: provider add for a kind that needs an API key stores it in the keyring"
KEY="smoke-key-$RANDOM$RANDOM"
printf '%s\n' "$KEY" | "$APP" provider add "Clinic Telnyx" --kind telnyx \
    --sender +15551230000 --json >/dev/null || fail "provider add"
"$APP" provider list --json | json '[a["name"] for a in d]' | grep -q "Clinic Telnyx" ||
    fail "account not listed"
# The key is in gnome-keyring under service 'smsdesk' (so the frozen keyring resolved to
# the SecretService backend, not keyring.backends.fail) and nowhere in the data folder.
# grep reads all of it (not -q): with pipefail, a grep that quits at the first match kills
# secret-tool with SIGPIPE when more follows (the database's own key is listed too).
secret-tool search --all service smsdesk 2>/dev/null | grep -F "secret = $KEY" >/dev/null ||
    fail "the API key is not in the Secret Service keyring"
if grep -rqa "$KEY" "$SMSDESK_HOME"; then fail "the API key leaked into $SMSDESK_HOME"; fi
echo "key stored in the Secret Service keyring, not in the data folder"

step "frozen contents: keyring backends and provider modules are inside"
PYZ_LIST="$TMP/pyz.txt"
if [[ -x "$REPO/build/venv/bin/pyi-archive_viewer" ]]; then
    "$REPO/build/venv/bin/pyi-archive_viewer" --list --recursive --brief "$APP" | sed "s/^ *//" >"$PYZ_LIST"
    # The Linux keyring is the Secret Service (GNOME Keyring, KeePassXC, KWallet 5.97+):
    # its backend and its pure-Python D-Bus stack. KWallet's own interface would need
    # dbus-python, which is not bundled and not claimed.
    for mod in keyring.backends.SecretService secretstorage jeepney jeepney.io.blocking \
        smsdesk.providers.sandbox smsdesk.providers.infobip smsdesk.providers.telnyx \
        smsdesk.providers.kaleyra tzdata smsdesk.legal psycopg \
        sqlalchemy.dialects.postgresql.psycopg; do
        grep -qx "$mod" "$PYZ_LIST" || fail "$mod is not frozen in"
    done
    for mod in pdb doctest readline phonenumbers.geodata phonenumbers.carrierdata; do
        if grep -qx "$mod" "$PYZ_LIST"; then fail "$mod is frozen in (left out on purpose)"; fi
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
dpkg-deb --info "$DEB" | grep -E "^ (Package|Version|Architecture|Depends|Recommends):"
depends="$(dpkg-deb --field "$DEB" Depends)"
grep -qE '(^|, )libc6 \(>= [0-9.]+\)' <<<"$depends" || fail "Depends has no libc6 (>= X)"
grep -q 'fontconfig-config' <<<"$depends" || fail "Depends lacks fontconfig-config"
grep -q 'fonts-dejavu-core |' <<<"$depends" || fail "Depends lacks a font family"
dpkg-deb --field "$DEB" Recommends | grep -q fonts-noto-color-emoji || fail "Recommends emoji font"
PAYLOAD="usr/lib/smsdesk/$VERSION"
for f in "$PAYLOAD/smsdesk" usr/lib/smsdesk/prune-versions "usr/share/applications/$APP_ID.desktop" \
    "usr/share/metainfo/$APP_ID.metainfo.xml" "usr/share/icons/hicolor/scalable/apps/$APP_ID.svg" \
    "usr/share/icons/hicolor/48x48/apps/$APP_ID.png" "usr/share/icons/hicolor/256x256/apps/$APP_ID.png" \
    usr/share/doc/smsdesk/copyright usr/share/doc/smsdesk/changelog.gz \
    usr/share/doc/smsdesk/THIRD_PARTY_NOTICES.txt; do
    [[ -e "$ROOT/$f" ]] || fail "missing /$f"
done
[[ ! -e "$ROOT/opt" ]] || fail "dpkg must not own /opt/smsdesk (the postinst fills it)"
for licence in "License: MIT" "License: LGPL-3.0-only" "License: GPL-3.0-only"; do
    grep -qx "$licence" "$ROOT/usr/share/doc/smsdesk/copyright" || fail "copyright lacks $licence"
done
zcat "$ROOT/usr/share/doc/smsdesk/changelog.gz" | head -n1 | grep -q "^smsdesk (" ||
    fail "changelog.gz is not a Debian changelog"
[[ "$(readlink "$ROOT/usr/bin/smsdesk")" == /opt/smsdesk/current/smsdesk ]] ||
    fail "/usr/bin/smsdesk is not a link to /opt/smsdesk/current/smsdesk"
desktop-file-validate "$ROOT/usr/share/applications/$APP_ID.desktop"
appstreamcli validate --no-net "$ROOT/usr/share/metainfo/$APP_ID.metainfo.xml" >/dev/null
grep -qx "Exec=smsdesk" "$ROOT/usr/share/applications/$APP_ID.desktop" || fail "launcher Exec"
grep -qx "Icon=$APP_ID" "$ROOT/usr/share/applications/$APP_ID.desktop" || fail "launcher Icon"
"$ROOT/$PAYLOAD/smsdesk" --version | grep -qx "smsdesk $VERSION" || fail "installed --version"
(cd "$TMP" && ln -sf "$ROOT/$PAYLOAD/smsdesk" usr-bin-smsdesk && ./usr-bin-smsdesk --version) |
    grep -qx "smsdesk $VERSION" || fail "--version through a symlink"
echo "deb layout, Depends, licences, launcher and installed binary ok"

step "clean Debian root: apt-get install, window on Xvfb, upgrade under a running agent, purge"
if [[ "$(id -u)" != 0 ]]; then
    echo "NOT TESTED: needs root (chroot, mounts)"
else
    BASE="${SMOKE_DEBIAN_BASE:-$REPO/build/debian-bookworm}"
    if [[ ! -x "$BASE/bin/sh" ]]; then
        command -v debootstrap >/dev/null || fail "missing debootstrap: apt-get install debootstrap"
        debootstrap --variant=minbase bookworm "$BASE" http://deb.debian.org/debian >/dev/null
    fi
    for tool in Xvfb import; do
        command -v "$tool" >/dev/null || fail "missing $tool: apt-get install xvfb imagemagick"
    done
    # The second build: the same bundle packaged as a newer version.
    NEXT="$VERSION+smoke1"
    SMSDESK_VERSION_OVERRIDE="$NEXT" SMSDESK_NO_TARBALL=1 SMSDESK_FAST_COMPRESSION=1 \
        bash -x "$REPO/packaging/linux/build.sh" --package-only >"$TMP/build-next.log" 2>&1 ||
        { tail -n 40 "$TMP/build-next.log"; fail "packaging the second version"; }
    DEB_NEXT="$REPO/dist/smsdesk_${NEXT}_$(dpkg --print-architecture).deb"
    CROOT="$TMP/debian"
    cp -a "$BASE" "$CROOT"
    mount -t proc proc "$CROOT/proc"
    mount --bind /dev "$CROOT/dev"
    cp /etc/resolv.conf "$CROOT/etc/resolv.conf"
    in_root() {
        chroot "$CROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
            TZ=UTC SMSDESK_HOME=/root/smsdesk DEBIAN_FRONTEND=noninteractive "$@"
    }
    cp "$DEB" "$DEB_NEXT" "$CROOT/tmp/"
    in_root apt-get update -qq >/dev/null
    in_root apt-get install -y -qq "/tmp/${DEB##*/}" >"$TMP/apt-install.log" 2>&1 ||
        { tail -n 30 "$TMP/apt-install.log"; fail "apt-get install ./${DEB##*/}"; }
    in_root smsdesk --version | grep -qx "smsdesk $VERSION" || fail "smsdesk from PATH"
    [[ "$(readlink "$CROOT/opt/smsdesk/current")" == "$VERSION" ]] || fail "current -> $VERSION"
    ls "$CROOT"/usr/share/fonts/truetype/*/*.ttf >/dev/null 2>&1 || fail "no font installed"

    # The window on a real X server (Xvfb), drawn with the fonts apt installed.
    mkdir -p "$CROOT/tmp/.X11-unix"
    DISP=":$(( 90 + RANDOM % 100 ))"
    Xvfb "$DISP" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
    XVFB_PID=$!
    for _ in $(seq 1 50); do [[ -S "/tmp/.X11-unix/X${DISP#:}" ]] && break; sleep 0.2; done
    mount --bind /tmp/.X11-unix "$CROOT/tmp/.X11-unix"
    chroot "$CROOT" env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 TZ=UTC \
        SMSDESK_HOME=/root/smsdesk-window DISPLAY="$DISP" QT_QPA_PLATFORM=xcb \
        smsdesk >"$TMP/window.log" 2>&1 &
    GUI_PID=$!
    for _ in $(seq 1 40); do
        [[ -f "$CROOT/root/smsdesk-window/smsdesk.db" ]] && break
        sleep 0.5
    done
    sleep 5   # let it paint
    kill -0 "$GUI_PID" 2>/dev/null || { cat "$TMP/window.log"; fail "the window exited"; }
    import -window root -display "$DISP" "$REPO/dist/smoke-window.png"
    colours="$(convert "$REPO/dist/smoke-window.png" -format '%k' info:)"
    (( colours > 50 )) || fail "the screenshot is nearly blank ($colours colours)"
    if grep -E "Traceback|could not load the Qt platform plugin|Cannot find font" "$TMP/window.log"; then
        fail "errors from the window (above)"
    fi
    kill "$GUI_PID"; wait "$GUI_PID" 2>/dev/null || true; GUI_PID=""
    echo "window drawn on Xvfb: dist/smoke-window.png ($colours colours)"

    # Upgrade while the agent runs: the agent keeps its own tree and finishes its message.
    in_root smsdesk settings --quiet-mode off >/dev/null
    AT2="$(date -u -d '+45 seconds' +%Y-%m-%dT%H:%M:%SZ)"
    in_root smsdesk schedule --to +15551234569 --text "upgrade test" --at "$AT2" --json \
        >"$TMP/schedule-up.json"
    UP_ID="$(json 'd["messages"][0]["message"]["id"]' <"$TMP/schedule-up.json")"
    # chroot and env exec in turn, so $! is the agent itself (a function would add a shell).
    chroot "$CROOT" env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 TZ=UTC \
        SMSDESK_HOME=/root/smsdesk smsdesk dispatch >"$TMP/agent.log" 2>&1 &
    AGENT_PID=$!
    sleep 3
    [[ "$(readlink "/proc/$AGENT_PID/exe")" == "$CROOT/opt/smsdesk/$VERSION/smsdesk" ]] ||
        fail "the agent does not run from /opt/smsdesk/$VERSION ($(readlink "/proc/$AGENT_PID/exe"))"
    in_root apt-get install -y -qq "/tmp/${DEB_NEXT##*/}" >"$TMP/apt-upgrade.log" 2>&1 ||
        { tail -n 30 "$TMP/apt-upgrade.log"; fail "upgrade to $NEXT"; }
    [[ "$(readlink "$CROOT/opt/smsdesk/current")" == "$NEXT" ]] || fail "current -> $NEXT"
    # (Unless the agent has already become the new version, see below, its tree must stay.)
    if [[ "$(readlink "/proc/$AGENT_PID/exe")" == "$CROOT/opt/smsdesk/$VERSION/smsdesk" ]]; then
        [[ -x "$CROOT/opt/smsdesk/$VERSION/smsdesk" ]] || fail "the running agent's tree was removed"
    fi
    [[ ! -e "$CROOT/usr/lib/smsdesk/$VERSION" ]] || fail "dpkg kept the old payload"
    echo "upgraded to $NEXT; the agent's tree /opt/smsdesk/$VERSION stays while it runs"
    wait_until=$(( $(date -u -d "$AT2" +%s) + 2 ))
    while (( $(date +%s) < wait_until )); do sleep 5; done
    for _ in $(seq 1 24); do
        state="$(in_root smsdesk show "$UP_ID" --json | json '(d[0] if isinstance(d, list) else d)["state"]')"
        [[ "$state" == delivered || "$state" == unknown ]] && break
        sleep 5
    done
    echo "message handed off by the agent across the upgrade: $state"
    [[ "$state" == delivered ]] || { cat "$TMP/agent.log"; fail "upgrade: message $UP_ID is $state"; }
    kill -0 "$AGENT_PID" 2>/dev/null || { cat "$TMP/agent.log"; fail "the agent died"; }
    # Between two passes the agent notices the newer install and becomes it: the same
    # process (a service manager sees it carry on), now running from the new tree.
    for _ in $(seq 1 40); do
        grep -q "restarting into it" "$TMP/agent.log" &&
            [[ "$(readlink "/proc/$AGENT_PID/exe")" == "$CROOT/opt/smsdesk/$NEXT/smsdesk" ]] && break
        sleep 3
    done
    grep -qx "smsdesk dispatch: version $NEXT is installed; restarting into it" "$TMP/agent.log" ||
        { cat "$TMP/agent.log"; fail "the agent did not restart into $NEXT"; }
    [[ "$(readlink "/proc/$AGENT_PID/exe")" == "$CROOT/opt/smsdesk/$NEXT/smsdesk" ]] ||
        fail "the agent runs $(readlink "/proc/$AGENT_PID/exe"), not /opt/smsdesk/$NEXT"
    # The same process now starts again from the new tree (storage opened and checked): wait
    # for it to say so rather than reading the log the moment the exec happened.
    for _ in $(seq 1 40); do
        [[ "$(grep -c "smsdesk dispatch: running" "$TMP/agent.log")" == 2 ]] && break
        kill -0 "$AGENT_PID" 2>/dev/null || break
        sleep 3
    done
    [[ "$(grep -c "smsdesk dispatch: running" "$TMP/agent.log")" == 2 ]] && kill -0 "$AGENT_PID" ||
        { cat "$TMP/agent.log"; fail "the restarted agent is not running"; }
    if grep -E "Traceback|LookupError|ModuleNotFoundError" "$TMP/agent.log"; then
        fail "the agent logged errors across the upgrade (above)"
    fi
    echo "the agent restarted itself into $NEXT between passes (same process $AGENT_PID)"
    # Nothing maps the old tree any more: it goes at once, while the new agent runs on.
    in_root /usr/lib/smsdesk/prune-versions "$NEXT"
    [[ ! -e "$CROOT/opt/smsdesk/$VERSION" ]] || fail "the old tree stays after its agent restarted"
    kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""

    in_root apt-get purge -y -qq smsdesk >"$TMP/apt-purge.log" 2>&1 || fail "apt-get purge"
    for gone in opt/smsdesk usr/lib/smsdesk usr/bin/smsdesk usr/share/doc/smsdesk; do
        [[ ! -e "$CROOT/$gone" && ! -L "$CROOT/$gone" ]] || fail "/$gone is left after purge"
    done
    echo "installed with apt, window drawn, upgraded under a running agent, purged clean"

    # The .rpm: no Fedora or RHEL root can be made here (only Debian's archive is reachable),
    # so rpm itself installs it into a copy of the Debian root (its scriptlets run there with
    # /bin/sh, as on Fedora); --nodeps because that root's libraries are in dpkg's database,
    # not rpm's: the Requires are checked by name instead.
    RPM="$REPO/dist/smsdesk-$VERSION-1.$(uname -m).rpm"
    RPM_NEXT="$REPO/dist/smsdesk-$NEXT-1.$(uname -m).rpm"
    if ! command -v rpm >/dev/null; then
        echo ".rpm NOT TESTED: rpm is not installed (apt-get install rpm)"
    else
        [[ -f "$RPM" && -f "$RPM_NEXT" ]] || fail "no .rpm was built ($RPM)"
        requires="$(rpm -qp --requires "$RPM")"
        grep -qE '^libc\.so\.6\(GLIBC_[0-9.]+\)\(64bit\)$' <<<"$requires" || fail ".rpm lacks the glibc floor"
        grep -qx fontconfig <<<"$requires" || fail ".rpm lacks fontconfig"
        grep -q 'dejavu-sans-fonts or' <<<"$requires" || fail ".rpm lacks a font family"
        if rpm -qp --provides "$RPM" | grep -q 'libQt6'; then fail ".rpm offers its private Qt"; fi
        RROOT="$TMP/rpmroot"
        cp -a "$BASE" "$RROOT"
        rpm --root "$RROOT" --initdb
        rpm --root "$RROOT" -i --nodeps "$RPM" || fail "rpm -i"
        chroot "$RROOT" /usr/bin/smsdesk --version | grep -qx "smsdesk $VERSION" || fail "rpm: smsdesk from PATH"
        [[ "$(readlink "$RROOT/opt/smsdesk/current")" == "$VERSION" ]] || fail "rpm: current -> $VERSION"
        rpm --root "$RROOT" -U --nodeps "$RPM_NEXT" || fail "rpm -U"
        [[ "$(readlink "$RROOT/opt/smsdesk/current")" == "$NEXT" ]] || fail "rpm: current -> $NEXT"
        [[ ! -e "$RROOT/usr/lib/smsdesk/$VERSION" ]] || fail "rpm kept the old payload"
        [[ ! -e "$RROOT/opt/smsdesk/$VERSION" ]] || fail "rpm: the unused old tree stays"
        chroot "$RROOT" /usr/bin/smsdesk --version | grep -qx "smsdesk $VERSION" || fail "rpm: upgraded smsdesk"
        rpm --root "$RROOT" -e smsdesk || fail "rpm -e"
        for gone in opt/smsdesk usr/lib/smsdesk usr/bin/smsdesk usr/share/doc/smsdesk; do
            [[ ! -e "$RROOT/$gone" && ! -L "$RROOT/$gone" ]] || fail "/$gone is left after rpm -e"
        done
        rm -rf "$RROOT"
        echo ".rpm: Requires by library name, installed, upgraded and erased with rpm"
    fi
    rm -f "$DEB_NEXT" "$RPM_NEXT"   # test packages: never to be published
fi

printf '\nSMOKE PASSED (smsdesk %s)\n' "$VERSION"
