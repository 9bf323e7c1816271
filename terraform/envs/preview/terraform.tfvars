# Per-pull-request preview. The preview workflow passes the rest with -var:
#   pr_number, web_image and worker_image (built from the PR head), pr_secret_arns (created for this PR).
# 111111111111 is a placeholder account id: replace it. No secrets here.
aws_region     = "eu-west-1"
aws_account_id = "111111111111"
repository     = "example-org/incident-tracker"
state_bucket   = "incident-tracker-tfstate-111111111111"

scanning_enabled = true
