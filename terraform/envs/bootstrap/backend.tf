# bootstrap creates the remote state backend, so its own state starts local: one file per
# account, chosen at init (terraform init -reconfigure -backend-config=path=<account>.tfstate;
# git-ignored; terraform/README.md, "Bootstrap"). Keep that file safe (it is the only record of
# the state bucket and the GitHub roles), or move it into the new bucket once it exists (and
# back out before a backend cleanup, which refuses while bootstrap's state is in the bucket):
#   replace this block with backend "s3" { bucket = "<state bucket>", key = "bootstrap/terraform.tfstate",
#   region = "eu-west-1", encrypt = true, kms_key_id = "<state key alias ARN>", use_lockfile = true }
#   and run terraform init -migrate-state.
terraform {
  backend "local" {
    path = "terraform.tfstate"
  }
}
