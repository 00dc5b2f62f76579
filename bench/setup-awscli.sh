#!/usr/bin/env bash
# The old scripts' tool, for side-by-side benchmarks only: awscli (v1, from PyPI) in its own venv,
# because it pins a botocore of its own. Usage: bench/setup-awscli.sh  →  .venv-awscli/bin/aws
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-awscli/bin/aws ]; then
  python3 -m venv .venv-awscli
  .venv-awscli/bin/pip install --quiet --disable-pip-version-check "awscli==1.46.3"
fi
.venv-awscli/bin/aws --version
