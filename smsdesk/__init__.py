"""smsdesk: schedule text messages from a desktop, through a durable local outbox."""

__version__ = "0.1.0"
