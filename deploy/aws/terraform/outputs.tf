output "function_url" {
  description = "The Function URL; `terraform output -json | statefun-faas module terraform -` turns it into module.yaml endpoints."
  value       = aws_lambda_function_url.statefun.function_url
}

output "function_name" {
  description = "The Lambda function's name."
  value       = aws_lambda_function.statefun.function_name
}

output "token_secret_arn" {
  description = "The ARN of the Secrets Manager secret holding the URL tokens; the token itself is no output (it is not in the state)."
  value       = local.token_secret_arn
}
