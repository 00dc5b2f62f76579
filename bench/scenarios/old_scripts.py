"""The old way, as the benchmarks run it side by side with the tool: the runbook's shell sequences
(``{fn}`` is the function name)."""

# deploy_lambda.sh: package, upload, wait (bench/bench_lambda.py; bench/bench_network.py adds the smoke)
OLD_LAMBDA_DEPLOY = """set -euo pipefail
rm -rf package lambda.zip
python3 -m pip install --quiet --disable-pip-version-check -r lambda_src/requirements.txt -t package
cp -r lambda_src/. package/
(cd package && zip -qr ../lambda.zip .)
aws lambda update-function-code --function-name {fn} --zip-file fileb://lambda.zip >/dev/null
aws lambda wait function-updated --function-name {fn}
"""
# the runbook's smoke test after it
OLD_LAMBDA_SMOKE = """aws lambda invoke --function-name {fn} --payload '{{"action":"health"}}' out.json >/dev/null
"""
