"""The embedded AWS stand-in for --local: emulator, bootstrap, function runtime, site server."""
