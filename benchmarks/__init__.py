"""smsdesk's benchmarks: the scenarios users feel, each beside a baseline measured in the same run.

Run ``python -m benchmarks`` (about 10 minutes) or ``python -m benchmarks --quick`` (< 1 minute).
Nothing here is a test: CI does not assert on these figures.
"""
