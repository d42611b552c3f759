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
  description = "URL token the function accepts (two comma-separated values while rotating). Leave empty when statefun_token_secret_arn is set."
  type        = string
  default     = ""
  sensitive   = true
}

variable "statefun_token_secret_arn" {
  description = "ARN of a Secrets Manager secret whose string is the token; wins over statefun_token."
  type        = string
  default     = ""
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
