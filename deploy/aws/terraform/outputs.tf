output "function_url" {
  description = "The Function URL; `terraform output -json | statefun-faas module terraform -` turns it into module.yaml endpoints."
  value       = aws_lambda_function_url.statefun.function_url
}

output "function_name" {
  description = "The Lambda function's name."
  value       = aws_lambda_function.statefun.function_name
}

output "statefun_token" {
  description = "The URL token, for `statefun-faas module`."
  value       = local.statefun_token
  sensitive   = true
}
