"""The embedded AWS stand-in for --local: emulator, Terraform work copy, function runtime, site server."""
