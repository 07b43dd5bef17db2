"""The demo and its stand-ins: seeding, the built-in sandbox network, the simulation of jurors, a dev server."""
