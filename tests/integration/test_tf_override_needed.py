"""Each rule of the emulator override (tf_override.RULES) is still needed with the pinned moto.

One probe per rule asks moto's server what the rule works around, with the calls the AWS
provider makes. When moto learns it, the probe fails: delete the rule (and its probe), and the
override shrinks. A rule without a probe fails too. Each probe was checked by an ablation run
(infrastructure/ applied without that one rule: docs/benchmarks.md, "Terraform on the emulator").
"""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from tars_tasks.local.tf_override import RULES

ACCOUNT = "123456789012"
ROLE_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                "Principal": {"Service": "lambda.amazonaws.com"}}]})


def _client(endpoint: str, service: str, **config):
    from botocore.config import Config

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=Config(**config))


def _not_found(call) -> None:
    with pytest.raises(ClientError) as error:
        call()
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def probe_cache_policies(endpoint):
    _not_found(lambda: _client(endpoint, "cloudfront").list_cache_policies(Type="managed"))


def probe_origin_request_policies(endpoint):
    _not_found(lambda: _client(endpoint, "cloudfront").list_origin_request_policies(Type="managed"))


def probe_response_headers_policies(endpoint):
    _not_found(lambda: _client(endpoint, "cloudfront").create_response_headers_policy(ResponseHeadersPolicyConfig={
        "Name": "security", "SecurityHeadersConfig": {"ContentTypeOptions": {"Override": True}}}))


def probe_distribution_echo(endpoint):
    cf = _client(endpoint, "cloudfront")
    oac = cf.create_origin_access_control(OriginAccessControlConfig={
        "Name": "ui", "SigningProtocol": "sigv4", "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]
    behaviour = {"TargetOriginId": "ui", "ViewerProtocolPolicy": "redirect-to-https",
                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}
    config = {"CallerReference": "probe", "Comment": "", "Enabled": True,
              "Origins": {"Quantity": 1, "Items": [{"Id": "ui", "DomainName": "b.s3.us-east-1.amazonaws.com",
                                                    "OriginAccessControlId": oac,
                                                    "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
              "DefaultCacheBehavior": behaviour,
              "CacheBehaviors": {"Quantity": 1, "Items": [{**behaviour, "PathPattern": "/api/*"}]},
              "ViewerCertificate": {"CloudFrontDefaultCertificate": True}}
    made = cf.create_distribution(DistributionConfig=config)["Distribution"]
    got = cf.get_distribution(Id=made["Id"])["Distribution"]["DistributionConfig"]
    # origin: the OAC id is not echoed
    assert got["Origins"]["Items"][0].get("OriginAccessControlId", "") == ""
    # viewer_certificate: an SSL support method is invented for the default certificate
    assert got["ViewerCertificate"].get("SSLSupportMethod") == "sni-only"
    # default_cache_behavior, ordered_cache_behavior: legacy forwarded values next to a cache policy
    assert "ForwardedValues" in got["DefaultCacheBehavior"]
    assert "ForwardedValues" in got["CacheBehaviors"]["Items"][0]


def probe_bucket_logging(endpoint):
    s3 = _client(endpoint, "s3")
    for bucket in ("data", "logs"):
        s3.create_bucket(Bucket=bucket)
    statement = {"Sid": "S3ServerAccessLogs", "Effect": "Allow", "Action": "s3:PutObject",
                 "Principal": {"Service": "logging.s3.amazonaws.com"}, "Resource": "arn:aws:s3:::logs/s3/*",
                 "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
    logging = {"LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "s3/data/"}}
    s3.put_bucket_policy(Bucket="logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    with pytest.raises(ClientError) as refused:  # AWS accepts s3/* for the prefix s3/data/
        s3.put_bucket_logging(Bucket="data", BucketLoggingStatus=logging)
    assert refused.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::logs/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    s3.put_bucket_policy(Bucket="logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny, statement]}))
    once = _client(endpoint, "s3", retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as failed:  # a Principal "*" statement crashes the check
        once.put_bucket_logging(Bucket="data", BucketLoggingStatus=logging)
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def probe_tls_only_deny(endpoint):
    s3 = _client(endpoint, "s3")
    s3.create_bucket(Bucket="site")
    deny = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::site", "arn:aws:s3:::site/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    s3.put_bucket_policy(Bucket="site", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    assert endpoint.startswith("http://")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="site", Key="index.html", Body=b"<html>")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def probe_lambda_logging_config(endpoint):
    import io
    import zipfile

    role = _client(endpoint, "iam").create_role(RoleName="fn", AssumeRolePolicyDocument=ROLE_TRUST)["Role"]["Arn"]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(e, c):\n    return {}\n")
    lam = _client(endpoint, "lambda")
    lam.create_function(FunctionName="fn", Runtime="python3.11", Role=role, Handler="handler.lambda_handler",
                        Code={"ZipFile": zipped.getvalue()},
                        LoggingConfig={"LogFormat": "Text", "LogGroup": "/aws/lambda/fn"})
    assert "LoggingConfig" not in lam.get_function_configuration(FunctionName="fn")


def probe_ecs_az_rebalancing(endpoint):
    ecs = _client(endpoint, "ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="f", containerDefinitions=[{"name": "a", "image": "x", "memory": 128}])
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="f", availabilityZoneRebalancing="DISABLED")
    assert "availabilityZoneRebalancing" not in ecs.describe_services(cluster="c", services=["s"])["services"][0]


def _rule_descriptions(endpoint, direction: str) -> dict[str, str | None]:
    ec2 = _client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group, other = (ec2.create_security_group(GroupName=n, Description=n, VpcId=vpc)["GroupId"] for n in ("a", "b"))
    prefix_list = ec2.describe_managed_prefix_lists()["PrefixLists"][0]["PrefixListId"]
    authorize = getattr(ec2, f"authorize_security_group_{direction}")
    authorize(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "UserIdGroupPairs": [{"GroupId": other, "Description": "g"}]},
        {"IpProtocol": "tcp", "FromPort": 2, "ToPort": 2, "PrefixListIds": [{"PrefixListId": prefix_list,
                                                                            "Description": "p"}]},
        {"IpProtocol": "tcp", "FromPort": 3, "ToPort": 3, "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "c"}]}])
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
    return {str(r["FromPort"]): r.get("Description") for r in rules if r["FromPort"] in (1, 2, 3)}


def probe_egress_rule_description(endpoint):
    assert _rule_descriptions(endpoint, "egress") == {"1": None, "2": None, "3": "c"}


def probe_ingress_rule_description(endpoint):
    assert _rule_descriptions(endpoint, "ingress") == {"1": None, "2": None, "3": "c"}


PROBES = {
    "data.aws_cloudfront_cache_policy": probe_cache_policies,
    "data.aws_cloudfront_origin_request_policy": probe_origin_request_policies,
    "aws_cloudfront_response_headers_policy": probe_response_headers_policies,
    "aws_cloudfront_distribution": probe_distribution_echo,
    "aws_s3_bucket_logging": probe_bucket_logging,
    "aws_s3_bucket_policy": probe_tls_only_deny,
    "aws_lambda_function": probe_lambda_logging_config,
    "aws_ecs_service": probe_ecs_az_rebalancing,
    "aws_vpc_security_group_egress_rule": probe_egress_rule_description,
    "aws_vpc_security_group_ingress_rule": probe_ingress_rule_description,
}


def test_every_rule_has_a_probe():
    assert sorted(r.target for r in RULES) == sorted(PROBES)


@pytest.mark.parametrize("target", sorted(PROBES))
def test_the_rule_is_still_needed(target, endpoint):
    PROBES[target](endpoint)
