# Keys and indexes equal tars_tasks/tables.py (tests/unit/test_infra_terraform.py compares them).
# On-demand billing, point-in-time recovery, encryption with the TARS key, deletion protection.

resource "aws_dynamodb_table" "incidents" {
  name                        = local.incidents_table
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "incident_id"
  deletion_protection_enabled = true

  attribute {
    name = "incident_id"
    type = "S"
  }
  attribute {
    name = "status"
    type = "S"
  }
  attribute {
    name = "created_at"
    type = "S"
  }

  global_secondary_index {
    name            = "StatusIndex"
    hash_key        = "status"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
}

resource "aws_dynamodb_table" "kb_documents" {
  name                        = local.kb_documents_table
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "document_id"
  deletion_protection_enabled = true

  attribute {
    name = "document_id"
    type = "S"
  }
  attribute {
    name = "service_name"
    type = "S"
  }

  global_secondary_index {
    name            = "ServiceIndex"
    hash_key        = "service_name"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
}

resource "aws_dynamodb_table" "kb_chunks" {
  name                        = local.kb_chunks_table
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "chunk_id"
  deletion_protection_enabled = true

  attribute {
    name = "chunk_id"
    type = "S"
  }
  attribute {
    name = "document_id"
    type = "S"
  }

  global_secondary_index {
    name            = "DocumentIndex"
    hash_key        = "document_id"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
}

# The deploy lock of tars_tasks/lock.py: one item per project/env.
resource "aws_dynamodb_table" "deploy_locks" {
  name                        = local.lock_table
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "lock_id"
  deletion_protection_enabled = true

  attribute {
    name = "lock_id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
}
