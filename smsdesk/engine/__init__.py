"""The outbox engine and the service façade used by the command line and the window."""
