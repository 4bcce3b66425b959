#!/usr/bin/env bash
# Renders resources/icons/io.github.smsdesk.SmsDesk.svg into the committed PNG sizes.
# Needs rsvg-convert (Debian: librsvg2-bin). Run after editing the SVG; commit the PNGs.
set -euo pipefail
cd "$(dirname "$0")/../resources/icons"
for size in 32 48 64 128 256; do
    rsvg-convert --width "$size" --height "$size" io.github.smsdesk.SmsDesk.svg \
        --output "smsdesk-$size.png"
done
ls -l smsdesk-*.png
