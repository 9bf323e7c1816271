terraform {
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  # A plan against the wrong account (a stale profile) fails before it reads anything.
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      Environment = "preview"
      Service     = "incident-tracker"
      Repository  = var.repository
    }
  }
}
