locals {
  base = data.terraform_remote_state.base.outputs

  id   = "pr-${var.pr_number}"
  name = "incident-tracker-${local.id}" # roles incident-tracker-pr-<n>-{web,worker}-task match the base bucket policy
  host = "${local.id}.${local.base.preview_domain}"
}
