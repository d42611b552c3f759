"""Thin adapters that hand HTTP bodies from each platform to the protocol core."""
