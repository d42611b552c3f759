locals {
  token_from_secret = var.statefun_token_secret_arn != ""
  statefun_token    = local.token_from_secret ? data.aws_secretsmanager_secret_version.token[0].secret_string : var.statefun_token
}

data "aws_secretsmanager_secret_version" "token" {
  count     = local.token_from_secret ? 1 : 0
  secret_id = var.statefun_token_secret_arn
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "statefun" {
  name_prefix        = "${var.function_name}-"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.statefun.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_cloudwatch_log_group" "statefun" {
  # checkov:skip=CKV_AWS_158:Logs hold request traces only (no payloads); the default AWS-managed encryption is enough.
  # checkov:skip=CKV_AWS_338:Retention is a variable (30 days by default); a year of request logs is rarely wanted.
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "statefun" {
  # checkov:skip=CKV_AWS_50:X-Ray tracing is optional; StateFun calls are already traced in the function log.
  # checkov:skip=CKV_AWS_116:StateFun retries failed calls itself; a dead-letter queue would never receive anything.
  # checkov:skip=CKV_AWS_117:The function calls no private resources; a VPC would only add cold-start time.
  # checkov:skip=CKV_AWS_173:The only variable is the URL token, which also sits in module.yaml; use statefun_token_secret_arn to keep it out of tfvars.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the package is built locally.
  function_name                  = var.function_name
  role                           = aws_iam_role.statefun.arn
  filename                       = var.package_zip
  source_code_hash               = filebase64sha256(var.package_zip)
  handler                        = "statefun_handler.handler"
  runtime                        = "python3.13"
  architectures                  = ["arm64"]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = {
      STATEFUN_FAAS_TOKENS = local.statefun_token
    }
  }

  depends_on = [aws_iam_role_policy_attachment.logs, aws_cloudwatch_log_group.statefun]
}

resource "aws_lambda_function_url" "statefun" {
  # checkov:skip=CKV_AWS_258:The StateFun runtime can not sign requests; the token in the URL is the guard.
  function_name = aws_lambda_function.statefun.function_name
  # The provider adds the lambda:InvokeFunctionUrl statement for NONE itself;
  # function_url_permission.tf adds the lambda:InvokeFunction one.
  authorization_type = "NONE"
}
