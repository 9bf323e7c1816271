# The shared preview base (envs/preview-base): VPC, cluster, ALB listener, database, Redis,
# bucket. main.tf holds only module calls, so the remote state lives here.
data "terraform_remote_state" "base" {
  backend = "s3"

  config = {
    bucket = var.state_bucket
    key    = var.preview_base_state_key
    region = var.aws_region
  }
}
