variable "region" {
  description = "AWS region to deploy to."
  type        = string
}

variable "function_name" {
  description = "Name of the Lambda function."
  type        = string
  default     = "statefun-functions"
}

variable "package_zip" {
  description = "Path of the zip built by `statefun-faas package aws`."
  type        = string
  default     = "lambda.zip"
}

variable "statefun_token" {
  description = "URL token the function accepts (two comma-separated values while rotating), written into a Secrets Manager secret of this configuration; ephemeral and write-only, so in neither the state nor the plan. Leave empty when statefun_token_secret_arn is set."
  type        = string
  default     = ""
  sensitive   = true
  ephemeral   = true
}

variable "statefun_token_version" {
  description = "Raise it with every new statefun_token: Terraform writes the write-only secret only when this changes, and the function's description carries it, so that new execution environments read the secret again."
  type        = number
  default     = 1
}

variable "statefun_token_secret_arn" {
  description = "Full ARN of an existing Secrets Manager secret whose string is the token (two comma-separated while rotating); wins over statefun_token."
  type        = string
  default     = ""

  validation {
    condition     = var.statefun_token_secret_arn != "" || var.statefun_token != ""
    error_message = "Set statefun_token or statefun_token_secret_arn: the function refuses to run open."
  }
}

variable "memory_size" {
  description = "Memory in MB; CPU share grows with it, and so does cold-start speed."
  type        = number
  default     = 1024
}

variable "timeout" {
  description = "Seconds; keep it below the StateFun endpoint's call timeout."
  type        = number
  default     = 30
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions (-1 leaves the function unreserved)."
  type        = number
  default     = -1
}

variable "log_retention_days" {
  description = "Days the function's CloudWatch logs are kept."
  type        = number
  default     = 30
}
