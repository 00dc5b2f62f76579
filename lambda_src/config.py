"""What the handler reads from its environment, and the timeouts of every outbound call.

One place for names and budgets: a request must end within 30 s, so every client below has
short connect/read timeouts and few attempts. The AWS endpoint is boto3's own AWS_ENDPOINT_URL.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

# seconds: (connect, read, total attempts). A request must end within 30 s (the runbook's chat
# check), so a chat request spends at most REQUEST_BUDGET and gives each step a share of it.
AWS_TIMEOUTS = (2.0, 5.0, 2)            # DynamoDB, S3, CloudWatch Logs, SSM
BEDROCK_CHAT_TIMEOUTS = (1.0, 12.0, 1)  # Converse: one try, else the answer is a summary
BEDROCK_EMBED_TIMEOUTS = (1.0, 4.0, 1)  # Titan embeddings: one try, then feature hashing
REQUEST_BUDGET = 26.0                   # a chat request's own deadline
MCP_TIMEOUT = 5.0                       # the whole MCP exchange; then CloudWatch Logs directly
LOG_SEARCH_BUDGET = 6.0                 # direct log search stops paging after this
EMBED_BUDGET = 15.0                     # Titan for a whole document, else feature hashing
BEDROCK_RETRY_AFTER = 60.0              # after Bedrock failed, skip it for this long (warm container)
KB_SEARCH_MAX_CHUNKS = 1200             # chunks one chat question scores at most (3 full documents)
KB_SEARCH_MAX_DOCS = 50                 # documents it looks into at most
KB_SEARCH_BUDGET = 2.0                  # seconds the KB search may take

EMBEDDING_DIMENSIONS = 256
TITAN_EMBED_MODEL = "amazon.titan-embed-text-v2:0"


@dataclass(frozen=True)
class Config:
    bedrock_model_id: str
    embedding_model_id: str
    incidents_table: str
    kb_documents_table: str
    kb_chunks_table: str
    kb_s3_bucket: str
    mcp_endpoint: str
    github_token_ssm_param: str
    log_group_prefix: str


def load() -> Config:
    """Read the environment now (cheap; tests change it between calls)."""
    env = os.environ.get
    return Config(
        bedrock_model_id=env("BEDROCK_MODEL_ID", "").strip(),
        embedding_model_id=env("EMBEDDING_MODEL_ID", TITAN_EMBED_MODEL).strip(),
        incidents_table=env("INCIDENTS_TABLE", "sre-poc-incidents"),
        kb_documents_table=env("KB_DOCUMENTS_TABLE", "sre-poc-kb-documents"),
        kb_chunks_table=env("KB_CHUNKS_TABLE", "sre-poc-kb-chunks"),
        kb_s3_bucket=env("KB_S3_BUCKET", "").strip(),
        mcp_endpoint=env("MCP_ENDPOINT", "").strip(),
        github_token_ssm_param=env("GITHUB_TOKEN_SSM_PARAM", "").strip(),
        log_group_prefix=env("LOG_GROUP_PREFIX", "/ecs/") or "/ecs/",
    )
