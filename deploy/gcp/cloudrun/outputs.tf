output "function_url" {
  description = "The service's HTTPS URL; `terraform output -json | statefun-faas module terraform - --token-env TOKEN` turns it into module.yaml endpoints."
  value       = google_cloud_run_v2_service.statefun.uri
}

output "service_name" {
  description = "The Cloud Run service's name."
  value       = google_cloud_run_v2_service.statefun.name
}
