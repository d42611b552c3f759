variable "subscription_id" {
  description = "Azure subscription id."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
  default     = "westeurope"
}

variable "name" {
  description = "Base name of the resources; the Function App is reachable at https://<name>.azurewebsites.net."
  type        = string
}

variable "package_zip" {
  description = "Zip of the app: function_app.py (registering the adapter), your functions module and requirements.txt; built remotely on deploy."
  type        = string
  default     = "app.zip"
}

variable "route" {
  description = "HTTP route the adapter registers in function_app.py (below /api)."
  type        = string
  default     = "statefun"
}

variable "python_version" {
  description = "Python version of the Function App (3.13 gets azure-functions 2.x, older versions 1.x)."
  type        = string
  default     = "3.12"
}
