"""Domain rules: no Qt, no HTTP, no database."""
