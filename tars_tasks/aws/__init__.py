"""The thin AWS helper package: one module per service, plain functions over boto3 clients.

No printing, no prompts, no Invoke. Failures are raised as TarsError kinds (see ``errors``).
"""
