variable "project" {
  description = "Google Cloud project id."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run service."
  type        = string
  default     = "europe-west1"
}

variable "service_name" {
  description = "Name of the Cloud Run service."
  type        = string
  default     = "statefun-functions"
}

variable "image" {
  description = "Container image serving the ASGI app with uvicorn on $PORT, built from the folder `statefun-faas package container` writes."
  type        = string
}

variable "token_secret_id" {
  description = "Secret Manager secret (id in this project) holding the URL token; its latest version is used."
  type        = string
}

variable "cpu" {
  description = "CPU per instance."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory per instance."
  type        = string
  default     = "512Mi"
}

variable "timeout" {
  description = "Request timeout; keep it below the StateFun endpoint's call timeout."
  type        = string
  default     = "60s"
}

variable "max_instances" {
  description = "Upper bound of instances."
  type        = number
  default     = 20
}

variable "min_instances" {
  description = "Instances kept warm to avoid cold starts."
  type        = number
  default     = 0
}

variable "concurrency" {
  description = "Requests one instance serves at once (the ASGI app is async)."
  type        = number
  default     = 80
}
