"""The hub agent: the software on a home's hub (a Raspberry Pi)."""
