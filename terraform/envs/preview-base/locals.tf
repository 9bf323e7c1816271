locals {
  name = "incident-tracker-preview"

  # Each preview's roles are named incident-tracker-pr-<n>-{web,worker}-task (iam module in
  # envs/preview); the shared bucket's policy matches them with ArnLike patterns.
  preview_role_prefix = "arn:aws:iam::${var.aws_account_id}:role/incident-tracker-pr-*"
}
