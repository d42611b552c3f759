output "function_url" {
  description = "The HTTP route of the adapter; `terraform output -json | statefun-faas module terraform -` appends the key as ?code=."
  value       = "https://${azurerm_linux_function_app.statefun.default_hostname}/api/${var.route}"
}

output "function_key" {
  description = "The default function key, accepted by every function with AuthLevel.FUNCTION."
  value       = data.azurerm_function_app_host_keys.statefun.default_function_key
  sensitive   = true
}

output "function_app_name" {
  description = "The Function App's name."
  value       = azurerm_linux_function_app.statefun.name
}
