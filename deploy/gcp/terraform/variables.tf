variable "project" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the function and its source bucket."
  type        = string
  default     = "europe-west1"
}

variable "function_name" {
  description = "Name of the Cloud Function (2nd gen)."
  type        = string
  default     = "statefun-functions"
}

variable "source_zip" {
  description = "Zip of the function source, as `statefun-faas package gcp` writes it: main.py (the entry point), your functions module, requirements.txt and the wheels in vendor/."
  type        = string
  default     = "source.zip"
}

variable "entry_point" {
  description = "Name of the functions-framework entry point defined in main.py."
  type        = string
  default     = "statefun"
}

variable "token_secret_id" {
  description = "Secret Manager secret (id in this project) holding the URL token; its latest version is used."
  type        = string
}

variable "memory" {
  description = "Memory per instance."
  type        = string
  default     = "1Gi"
}

variable "timeout_seconds" {
  description = "Request timeout; keep it below the StateFun endpoint's call timeout."
  type        = number
  default     = 60
}

variable "max_instances" {
  description = "Upper bound of instances (roughly the number of hot StateFun addresses)."
  type        = number
  default     = 20
}

variable "min_instances" {
  description = "Instances kept warm to avoid cold starts."
  type        = number
  default     = 0
}
