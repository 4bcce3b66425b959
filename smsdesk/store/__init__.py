"""Local storage: tables, database set-up, migrations, queries, and the keyring-backed secrets."""
