locals {
  token_secret_of_this_configuration = var.statefun_token_secret_arn == ""
  token_secret_arn                   = local.token_secret_of_this_configuration ? aws_secretsmanager_secret.token[0].arn : var.statefun_token_secret_arn
}

# The token lives in this secret only: written with a write-only argument from an ephemeral
# variable, it is in neither the Terraform state nor the plan, nor in the function's environment.
resource "aws_secretsmanager_secret" "token" {
  # checkov:skip=CKV_AWS_149:The AWS managed key of Secrets Manager encrypts it; a customer managed key would need its own key policy.
  # checkov:skip=CKV2_AWS_57:A URL token is rotated by hand with StateFun's module.yaml (docs/security.md), not by a rotation Lambda.
  count       = local.token_secret_of_this_configuration ? 1 : 0
  name_prefix = "${var.function_name}-url-tokens-"
  description = "The URL tokens of the StateFun functions (one, or two comma-separated while rotating)."
}

resource "aws_secretsmanager_secret_version" "token" {
  count                    = local.token_secret_of_this_configuration ? 1 : 0
  secret_id                = aws_secretsmanager_secret.token[0].id
  secret_string_wo         = var.statefun_token
  secret_string_wo_version = var.statefun_token_version
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

# Read access to exactly the token's secret.
data "aws_iam_policy_document" "read_token" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.token_secret_arn]
  }
}

resource "aws_iam_role_policy" "read_token" {
  name_prefix = "read-url-tokens-"
  role        = aws_iam_role.statefun.id
  policy      = data.aws_iam_policy_document.read_token.json
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
  # checkov:skip=CKV_AWS_173:The only variable is the ARN of the token's secret, not the token.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the package is built locally.
  function_name                  = var.function_name
  description                    = "StateFun remote functions (statefun-faas); URL tokens version ${var.statefun_token_version}"
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
      # The secret's ARN: the function reads the token from it once per cold start.
      STATEFUN_FAAS_TOKENS_SECRET = local.token_secret_arn
    }
  }

  depends_on = [
    aws_iam_role_policy_attachment.logs,
    aws_iam_role_policy.read_token,
    aws_cloudwatch_log_group.statefun,
    aws_secretsmanager_secret_version.token,
  ]
}

resource "aws_lambda_function_url" "statefun" {
  # checkov:skip=CKV_AWS_258:The StateFun runtime can not sign requests; the token in the URL is the guard.
  function_name = aws_lambda_function.statefun.function_name
  # The provider adds the lambda:InvokeFunctionUrl statement for NONE itself;
  # function_url_permission.tf adds the lambda:InvokeFunction one.
  authorization_type = "NONE"
}
