import sys

from smsdesk.cli import main

sys.exit(main())
