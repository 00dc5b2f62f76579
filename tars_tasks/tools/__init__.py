"""Wrappers for the external programs: terraform, npm, the container engine, git, Fabric."""
