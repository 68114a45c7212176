"""Drivers: put a sans-I/O connection on a real socket."""
