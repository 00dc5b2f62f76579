"""Artifact builders: the Lambda zip, the UI bundle, the MCP image."""
