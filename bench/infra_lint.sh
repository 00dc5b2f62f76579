#!/usr/bin/env bash
# What `inv lint-infra` costs, side by side with running the same tools by hand in one run:
# terraform fmt -check + validate (only when terraform is installed) and checkov offline.
# Usage: bench/infra_lint.sh [runs]   (needs .venv and .venv-checkov: make setup)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true
ms() { date +%s%3N; }
by_hand() {
  if command -v terraform >/dev/null; then
    terraform -chdir=infrastructure fmt -check -recursive >/dev/null
    TF_DATA_DIR=.tars/cache/terraform-bench terraform -chdir=infrastructure init -backend=false -input=false \
      ${TARS_TERRAFORM_PLUGIN_DIR:+-plugin-dir=$TARS_TERRAFORM_PLUGIN_DIR} >/dev/null
    TF_DATA_DIR=.tars/cache/terraform-bench terraform -chdir=infrastructure validate >/dev/null
  fi
  .venv-checkov/bin/checkov -d infrastructure --framework terraform --skip-download --quiet --compact -o json >/dev/null
}
task() { .venv/bin/inv lint-infra >/dev/null 2>&1; }
for name in by_hand task; do
  total=0
  for _ in $(seq "$runs"); do
    start=$(ms); $name; total=$(( total + $(ms) - start ))
  done
  echo "$name: $(( total / runs )) ms mean over $runs runs"
done
