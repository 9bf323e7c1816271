# Shared preview base: stays up while pull requests come and go. Each envs/preview root (one
# state per PR) adds its services, target group, host rule and database on top of it.

module "platform" {
  source = "../../modules/platform"

  name    = local.name
  network = merge(var.network, { single_nat_gateway = true })
  alb = merge(var.alb, {
    # No default target group: unknown hosts get a 404; each preview brings its own target
    # group and host-header rule.
    create_target_group = false
  })
  cluster_capacity_provider_strategy = [{ capacity_provider = "FARGATE_SPOT", weight = 1, base = 0 }]

  evidence = {
    bucket_name = var.evidence_bucket_name
    # Each preview's roles are incident-tracker-pr-<n>-{web,worker}-task: the bucket policy
    # matches all of them; the layout nests under pr-<n>/.
    task_role_prefix        = "incident-tracker-pr-*"
    nested_prefixes_enabled = true
    retention_days          = 365
    force_destroy           = true
  }
  # deletion_protection and skip_final_snapshot come from var.database (on / off by default):
  # the teardown switches them in a reviewed apply first (terraform/README.md).
  database = merge(var.database, {
    multi_az                = false
    backup_retention_period = 3
  })
  cache              = { node_type = var.cache.node_type, num_cache_clusters = 1, snapshot_retention_limit = 1 }
  log_retention_days = var.log_retention_days
  alarm_email        = var.alarm_email
  enable_bastion     = var.enable_bastion

  permissions_boundary_arn = "arn:aws:iam::${var.aws_account_id}:policy/incident-tracker-permissions-boundary"

  # Alarms also to an on-call service (PagerDuty, Opsgenie), besides alarm_email.
  alarm_https_endpoint_secret_arn = var.alarm_https_endpoint_secret_arn
}
