resource "google_storage_bucket" "source" {
  # checkov:skip=CKV_GCP_62:The bucket only holds the function's source zip; access logs add nothing.
  # checkov:skip=CKV_GCP_78:Each deploy uploads a new object named by its hash; versioning would only keep garbage.
  name                        = "${var.project}-${var.function_name}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${filemd5(var.source_zip)}.zip"
  bucket = google_storage_bucket.source.name
  source = var.source_zip
}

resource "google_service_account" "function" {
  account_id   = var.function_name
  display_name = "StateFun functions (${var.function_name})"
}

resource "google_secret_manager_secret_iam_member" "token_reader" {
  secret_id = var.token_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function.email}"
}

resource "google_cloudfunctions2_function" "statefun" {
  # checkov:skip=CKV_GCP_124:Ingress is open because the StateFun runtime may run outside this VPC; the URL token is the guard.
  name     = var.function_name
  location = var.region

  build_config {
    runtime     = "python313"
    entry_point = var.entry_point
    # The wheels `statefun-faas package gcp` puts in vendor/: pip installs them without a package index.
    environment_variables = {
      GOOGLE_VENDOR_PIP_DEPENDENCIES = "vendor"
    }
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = var.memory
    timeout_seconds                  = var.timeout_seconds
    max_instance_count               = var.max_instances
    min_instance_count               = var.min_instances
    max_instance_request_concurrency = 1
    service_account_email            = google_service_account.function.email
    ingress_settings                 = "ALLOW_ALL"

    secret_environment_variables {
      key        = "STATEFUN_FAAS_TOKENS"
      project_id = var.project
      secret     = var.token_secret_id
      version    = "latest"
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.token_reader]
}

# The StateFun runtime can not attach ID tokens, so the service is public and the token in
# the URL is the guard (checked by the adapter before the body is read).
resource "google_cloud_run_service_iam_member" "public_invoker" {
  # checkov:skip=CKV_GCP_102:Public on purpose: StateFun can not send ID tokens; the URL token is the guard.
  location = var.region
  service  = google_cloudfunctions2_function.statefun.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}
