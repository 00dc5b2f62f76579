#!/usr/bin/env bash
# The old way (deploy.sh --mcp / deploy-mcp.sh, per the runbook), for bench/bench_mcp.py only:
# ECR login, docker build, push :latest, scale the service to 0 then back to 1, wait.
set -euo pipefail
: "${AWS_BIN:?}" "${REPO_URL:?}" "${CLUSTER:?}" "${SERVICE:?}" "${CONTEXT:?}"
REGISTRY="${REPO_URL%%/*}"
"$AWS_BIN" ecr get-login-password --region "${AWS_REGION:-us-east-1}" \
  | docker login --username AWS --password-stdin "$REGISTRY"
docker build -t "$REPO_URL:latest" "$CONTEXT"
docker push "$REPO_URL:latest"
"$AWS_BIN" ecs update-service --cluster "$CLUSTER" --service "$SERVICE" --desired-count 0 >/dev/null
"$AWS_BIN" ecs wait services-stable --cluster "$CLUSTER" --services "$SERVICE"
"$AWS_BIN" ecs update-service --cluster "$CLUSTER" --service "$SERVICE" --desired-count 1 \
  --force-new-deployment >/dev/null
"$AWS_BIN" ecs wait services-stable --cluster "$CLUSTER" --services "$SERVICE"
