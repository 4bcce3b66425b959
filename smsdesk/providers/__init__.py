"""Provider clients behind one protocol. Only the engine imports this package."""
