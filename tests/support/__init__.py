"""Helpers shared by tests and bench/ (fixture sites, emulator resources)."""
