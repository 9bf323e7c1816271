locals {
  name = "incident-tracker-${var.environment}"

  # Created by envs/bootstrap in this environment's account: every role the deploy role creates
  # must carry it (iam:PermissionsBoundary condition), so a deploy cannot mint an admin role.
  permissions_boundary_arn = "arn:aws:iam::${var.aws_account_id}:policy/incident-tracker-permissions-boundary"
}
