"""Scenarios shared by bench/ and the tests (bench/ imports these, never a test module:
tests/unit/test_code_shape.py checks it; the tests import them too):

- clone.py: a newcomer's fresh clone of the project; ui_site.py: a generated Vite-like UI site
  with its bucket and distribution;
- mcp_deploy.py: an MCP service deploy's emulator state and project; mcp_server.py: the MCP log
  server started as a process;
- moto_template.py: an empty moto server that can be forked; tf_setup.py: terraform, the provider
  mirror and the inputs a ``--local`` project copy gives Terraform;
- fault_proxy.py: the seeded fault-injecting proxy; lambda_faults.py, ui_faults.py: the
  deploy-lambda and deploy-ui fault and kill scenarios, with the end states every run must reach;
- aws_actions.py: recorded AWS calls → IAM actions and resources, a small policy evaluator.
"""
