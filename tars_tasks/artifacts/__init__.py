"""Artifact builders: the Lambda zip, the UI bundle, the MCP image (each built one at a time per
checkout: tars_tasks.lock.one_at_a_time)."""
