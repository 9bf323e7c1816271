output "url" {
  description = "URL of the preview (comment it on the pull request)."
  value       = "https://${local.host}"
}

output "cluster_name" {
  description = "Shared preview cluster (aws ecs run-task --cluster)."
  value       = local.base.cluster_name
}

output "service_names" {
  description = "ECS services of this preview (web, worker)."
  value       = module.app.service_names
}

output "migrate_task_definition_arn" {
  description = "Migrate task definition with its revision (aws ecs run-task --task-definition), registered with the image of the last apply."
  value       = module.app.migrate_task_definition_arn
}

output "migrate_task_definition_family" {
  description = "Family of this preview's migrate task definition."
  value       = module.app.migrate_task_definition_family
}

output "migrate_network_configuration" {
  description = "awsvpcConfiguration for aws ecs run-task of the migrate task (the web tasks' security group reaches the database)."
  value       = module.app.migrate_network_configuration
}

output "database_name" {
  description = "Database of this preview on the shared preview instance (created by the preview workflow)."
  value       = "pr_${var.pr_number}"
}

output "redis_key_prefix" {
  description = "Prefix of this preview's keys on the shared preview Redis (REDIS_KEY_PREFIX); delete them when the PR closes."
  value       = "${local.id}:"
}

output "s3_prefix" {
  description = "Key prefix of this preview's objects in the shared preview bucket (delete it when the PR closes)."
  value       = "${local.id}/"
}

output "listener_rule_priority" {
  description = "Priority of this preview's host-header rule on the shared HTTPS listener (the PR number)."
  value       = module.app.listener_rule_priority
}

output "deployment_circuit_breakers" {
  description = "Deployment circuit breaker of every service of this preview."
  value       = module.app.deployment_circuit_breakers
}

output "app_environment" {
  description = "Plain environment of this preview's tasks (S3_KEY_PREFIX, REDIS_KEY_PREFIX, ...)."
  value       = module.app.app_environment
}
