resource "google_service_account" "service" {
  account_id   = var.service_name
  display_name = "StateFun functions (${var.service_name})"
}

resource "google_secret_manager_secret_iam_member" "token_reader" {
  secret_id = var.token_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.service.email}"
}

resource "google_cloud_run_v2_service" "statefun" {
  name     = var.service_name
  location = var.region
  ingress  = "INGRESS_TRAFFIC_ALL"

  template {
    service_account                  = google_service_account.service.email
    timeout                          = var.timeout
    max_instance_request_concurrency = var.concurrency

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
      }

      env {
        name = "STATEFUN_FAAS_TOKENS"
        value_source {
          secret_key_ref {
            secret  = var.token_secret_id
            version = "latest"
          }
        }
      }

      startup_probe {
        http_get {
          path = "/healthz"
        }
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.token_reader]
}

# The StateFun runtime can not attach ID tokens, so the service is public and the token in
# the URL is the guard (checked by the ASGI app before the body is read).
resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  location = google_cloud_run_v2_service.statefun.location
  name     = google_cloud_run_v2_service.statefun.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
