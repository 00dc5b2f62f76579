# The MCP log server on Fargate in the private subnets, reachable as MCP_ENDPOINT
# (mcp.<project>.internal). Terraform creates the first task definition; inv deploy-mcp
# registers later revisions and moves the service, so the service ignores those changes.

resource "aws_cloudwatch_log_group" "mcp" {
  name              = "/ecs/${local.ecs_service}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_ecs_cluster" "main" {
  name = local.ecs_cluster

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "mcp" {
  family                   = local.ecs_service
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.mcp_cpu
  memory                   = var.mcp_memory
  execution_role_arn       = aws_iam_role.mcp_execution.arn
  task_role_arn            = aws_iam_role.mcp_task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name                   = "mcp-server"
    image                  = "${aws_ecr_repository.mcp.repository_url}:${var.mcp_image_tag}"
    essential              = true
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = var.mcp_port, protocol = "tcp" }]
    environment = [
      { name = "MCP_HOST", value = "0.0.0.0" },
      { name = "MCP_PORT", value = tostring(var.mcp_port) },
      { name = "AWS_REGION", value = var.region },
      { name = "LOG_GROUP_PREFIX", value = var.log_group_prefix },
    ]
    healthCheck = {
      command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${var.mcp_port}/health', timeout=3)"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 15
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.mcp.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "mcp"
      }
    }
  }])
}

resource "aws_ecs_service" "mcp" {
  name                   = local.ecs_service
  cluster                = aws_ecs_cluster.main.id
  task_definition        = aws_ecs_task_definition.mcp.arn
  desired_count          = 1
  launch_type            = "FARGATE"
  enable_execute_command = false

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.mcp.id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.mcp.arn
  }

  lifecycle {
    # inv deploy-mcp / rollback-mcp move the revision; inv mcp-stop / mcp-start the count
    ignore_changes = [task_definition, desired_count]
  }
}
