# One state per pull request: the key is not written here but given at init (partial
# backend configuration), so two previews never share or overwrite a state:
#   terraform init -backend-config="key=preview/pr-${PR}.tfstate"
# (the bucket as in every root; override with -backend-config="bucket=..." for another account).
terraform {
  backend "s3" {
    bucket       = "incident-tracker-tfstate-111111111111"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
