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
  description = "Zip of the app, as `statefun-faas package azure` writes it: function_app.py, host.json, your functions module, requirements.txt and the wheels in vendor/; built remotely on deploy, without a package index."
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

variable "token_key_vault_id" {
  description = "Resource ID of a Key Vault (Azure RBAC authorization) holding the statefun-faas URL token; the app setting STATEFUN_FAAS_TOKENS then refers to it. Empty: the function key alone guards the app."
  type        = string
  default     = ""
}

variable "token_secret_name" {
  description = "Name of the secret in token_key_vault_id whose value is the URL token (two comma-separated while rotating)."
  type        = string
  default     = "statefun-tokens"
}
