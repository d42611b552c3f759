output "function_url" {
  description = "The function's HTTPS URL; `terraform output -json | statefun-faas module terraform - --token-env TOKEN` turns it into module.yaml endpoints."
  value       = google_cloudfunctions2_function.statefun.service_config[0].uri
}

output "function_name" {
  description = "The Cloud Function's name."
  value       = google_cloudfunctions2_function.statefun.name
}
