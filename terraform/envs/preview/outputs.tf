output "url" {
  description = "URL of the preview (comment it on the pull request)."
  value       = "https://${local.host}"
}

output "cluster_name" {
  description = "Shared preview cluster (aws ecs run-task --cluster)."
  value       = local.base.cluster_name
}

output "service_names" {
  description = "ECS services of this preview."
  value = {
    web    = module.web.service_name
    worker = module.worker.service_name
  }
}

output "migrate_task_definition_arn" {
  description = "Migrate task definition with its revision (aws ecs run-task --task-definition), registered with the image of the last apply."
  value       = module.web.migrate_task_definition_arn
}

output "migrate_task_definition_family" {
  description = "Task definition family of this preview's migrate task."
  value       = module.web.migrate_task_definition_family
}

output "migrate_network_configuration" {
  description = "awsvpcConfiguration for aws ecs run-task of the migrate task (the web tasks' security group reaches the database)."
  value = {
    subnets        = local.base.private_subnet_ids
    securityGroups = [module.web.security_group_id]
    assignPublicIp = "DISABLED"
  }
}

output "database_name" {
  description = "Database of this preview on the shared preview instance (created by the preview workflow)."
  value       = "pr_${var.pr_number}"
}

output "redis_database" {
  description = "Redis database index of this preview on the shared preview Redis."
  value       = var.pr_number % 16
}

output "s3_prefix" {
  description = "Key prefix of this preview's objects in the shared preview bucket (delete it when the PR closes)."
  value       = "${local.id}/"
}
