"""Home simulators: virtual residents' days as sensor events."""
