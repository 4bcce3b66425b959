"""Entry point of the frozen smsdesk: no arguments opens the window, otherwise the CLI."""

import sys

from smsdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
