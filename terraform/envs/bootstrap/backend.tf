# bootstrap creates the remote state backend, so its own state starts local
# (terraform.tfstate here, git-ignored). Keep that file safe (it is the only record of the
# state bucket and the GitHub roles), or move it into the new bucket once it exists:
#   replace this block with backend "s3" { bucket = "<state bucket>", key = "bootstrap/terraform.tfstate",
#   region = "eu-west-1", encrypt = true, kms_key_id = "<state key alias ARN>", use_lockfile = true }
#   and run terraform init -migrate-state.
terraform {
  backend "local" {
    path = "terraform.tfstate"
  }
}
