# Function URLs created since October 2025 answer 403 with AuthType NONE unless
# lambda:InvokeFunction is also granted to everyone when invoked through the URL.
# `invoked_via_function_url` needs the AWS provider 6.x (see versions.tf); this file is
# kept apart so that CI can validate the rest of the configuration with a 5.x provider.
resource "aws_lambda_permission" "invoke_via_function_url" {
  # checkov:skip=CKV_AWS_301:Public on purpose, only through the Function URL; the token in the URL is the guard.
  statement_id             = "FunctionURLInvokeAllowPublicAccess"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.statefun.function_name
  principal                = "*"
  invoked_via_function_url = true
}
