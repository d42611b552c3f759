resource "azurerm_resource_group" "statefun" {
  name     = "${var.name}-rg"
  location = var.location
}

resource "azurerm_storage_account" "statefun" {
  # checkov:skip=CKV_AZURE_33:The account only holds the Functions host's own state; queue logging adds nothing.
  # checkov:skip=CKV_AZURE_206:Host state is rebuilt on start; locally redundant storage is enough.
  # checkov:skip=CKV2_AZURE_1:Customer-managed keys are an organisation policy choice, not a template default.
  # checkov:skip=CKV2_AZURE_33:A private endpoint needs a VNet-integrated (Premium) plan; this template uses Consumption.
  # checkov:skip=CKV2_AZURE_38:Host state needs no soft delete.
  # checkov:skip=CKV2_AZURE_40:The Functions host on a Consumption plan connects with the account key.
  # checkov:skip=CKV2_AZURE_41:No SAS tokens are issued by this template.
  # checkov:skip=CKV_AZURE_59:The Consumption plan reaches its storage over the public endpoint (no VNet).
  name                            = substr(replace(lower("${var.name}sa"), "-", ""), 0, 24)
  resource_group_name             = azurerm_resource_group.statefun.name
  location                        = azurerm_resource_group.statefun.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
}

resource "azurerm_service_plan" "statefun" {
  # checkov:skip=CKV_AZURE_212:A Consumption (Y1) plan scales out by itself and has no minimum instance count.
  # checkov:skip=CKV_AZURE_225:A Consumption (Y1) plan can not be zone redundant; use a Premium plan for that.
  name                = "${var.name}-plan"
  resource_group_name = azurerm_resource_group.statefun.name
  location            = azurerm_resource_group.statefun.location
  os_type             = "Linux"
  sku_name            = "Y1"
}

# Optional: the URL token of statefun-faas on top of the function key, kept in Key Vault. The
# app setting holds a Key Vault reference, which App Service resolves with the identity below
# (allowed to read that one secret) and hands the function as STATEFUN_FAAS_TOKENS.
locals {
  token_from_key_vault = var.token_key_vault_id != ""
  token_setting = local.token_from_key_vault ? {
    STATEFUN_FAAS_TOKENS = "@Microsoft.KeyVault(VaultName=${basename(var.token_key_vault_id)};SecretName=${var.token_secret_name})"
  } : {}
}

resource "azurerm_user_assigned_identity" "token_reader" {
  count               = local.token_from_key_vault ? 1 : 0
  name                = "${var.name}-token-reader"
  resource_group_name = azurerm_resource_group.statefun.name
  location            = azurerm_resource_group.statefun.location
}

# Read access to that secret only (a vault with Azure RBAC authorization).
resource "azurerm_role_assignment" "token_reader" {
  count                = local.token_from_key_vault ? 1 : 0
  scope                = "${var.token_key_vault_id}/secrets/${var.token_secret_name}"
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.token_reader[0].principal_id
}

resource "azurerm_linux_function_app" "statefun" {
  # checkov:skip=CKV_AZURE_221:Public on purpose: the StateFun runtime calls it from outside; the function key is the guard.
  name                       = var.name
  resource_group_name        = azurerm_resource_group.statefun.name
  location                   = azurerm_resource_group.statefun.location
  service_plan_id            = azurerm_service_plan.statefun.id
  storage_account_name       = azurerm_storage_account.statefun.name
  storage_account_access_key = azurerm_storage_account.statefun.primary_access_key
  https_only                 = true
  zip_deploy_file            = var.package_zip

  app_settings = merge({
    SCM_DO_BUILD_DURING_DEPLOYMENT = "true"
    ENABLE_ORYX_BUILD              = "true"
  }, local.token_setting)

  dynamic "identity" {
    for_each = azurerm_user_assigned_identity.token_reader
    content {
      type         = "UserAssigned"
      identity_ids = [identity.value.id]
    }
  }
  key_vault_reference_identity_id = local.token_from_key_vault ? azurerm_user_assigned_identity.token_reader[0].id : null

  site_config {
    minimum_tls_version = "1.2"
    http2_enabled       = true
    application_stack {
      python_version = var.python_version
    }
  }

  depends_on = [azurerm_role_assignment.token_reader] # the reference is resolved when the app starts
}

# The function key goes into the endpoint URL as ?code=<key>: the StateFun runtime keeps the
# query string but can not send an x-functions-key header.
data "azurerm_function_app_host_keys" "statefun" {
  name                = azurerm_linux_function_app.statefun.name
  resource_group_name = azurerm_resource_group.statefun.name
}
