"""The Qt window. It reaches providers only through the engine's service."""
