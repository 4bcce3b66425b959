"""Run a provider simulator by hand, to demonstrate smsdesk against it:

    python -m tests.simulators infobip --port 8081

then, in another terminal, add an account that points at it (the key is printed).
"""

from __future__ import annotations

import argparse
import importlib
import threading

from smsdesk.core.clock import SystemClock

SIMULATORS = {
    "infobip": "tests.simulators.infobip:InfobipSimulator",
    "telnyx": "tests.simulators.telnyx:TelnyxSimulator",
    "kaleyra": "tests.simulators.kaleyra:KaleyraSimulator",
    "twilio": "tests.simulators.twilio:TwilioSimulator",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.simulators")
    parser.add_argument("provider", choices=sorted(SIMULATORS))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default="sim-key-7d1f2a", help="the API key it accepts")
    args = parser.parse_args()
    module, _, cls = SIMULATORS[args.provider].partition(":")
    sim = getattr(importlib.import_module(module), cls)(SystemClock(), api_key=args.key)
    url = sim.start(args.port)
    print(f"{args.provider} simulator on {url} (API key: {args.key}); Ctrl+C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sim.stop()


if __name__ == "__main__":
    main()
