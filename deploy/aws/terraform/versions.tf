terraform {
  # 1.11: the token is an ephemeral variable written through a write-only argument.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x: the Function URL's second permission (invoked_via_function_url) needs it.
      version = ">= 6.29"
    }
  }
}

provider "aws" {
  region = var.region
}
