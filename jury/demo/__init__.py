"""The demo and its stand-ins: seeding, the built-in sandbox network, the simulation of jurors, the surge,
a dev server."""
