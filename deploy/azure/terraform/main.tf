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

  app_settings = {
    SCM_DO_BUILD_DURING_DEPLOYMENT = "true"
    ENABLE_ORYX_BUILD              = "true"
  }

  site_config {
    minimum_tls_version = "1.2"
    http2_enabled       = true
    application_stack {
      python_version = var.python_version
    }
  }
}

# The function key goes into the endpoint URL as ?code=<key>: the StateFun runtime keeps the
# query string but can not send an x-functions-key header.
data "azurerm_function_app_host_keys" "statefun" {
  name                = azurerm_linux_function_app.statefun.name
  resource_group_name = azurerm_resource_group.statefun.name
}
