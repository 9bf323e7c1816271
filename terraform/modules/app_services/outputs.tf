output "app_environment" {
  description = "Plain environment the tasks get (names agreed with the app's settings)."
  value       = local.app_environment
}

output "service_names" {
  description = "ECS service names by role (web, worker and, without run_beat_in_worker, beat)."
  value = merge(
    { web = module.web.service_name, worker = module.worker.service_name },
    var.run_beat_in_worker ? {} : { beat = module.beat[0].service_name },
  )
}

output "migrate_task_definition_arn" {
  description = "Migrate task definition with its revision (aws ecs run-task --task-definition), registered with the image of the last apply."
  value       = try(module.web.migrate_task_definition_arn, null)
}

output "migrate_task_definition_family" {
  description = "Family of the migrate task definition (aws ecs describe-task-definition / register-task-definition)."
  value       = try(module.web.migrate_task_definition_family, null)
}

output "migrate_network_configuration" {
  description = "awsvpcConfiguration for aws ecs run-task of the migrate task: private subnets, the web tasks' security group (allowed into RDS), no public IP."
  value = {
    subnets        = var.private_subnet_ids
    securityGroups = [module.web.security_group_id]
    assignPublicIp = "DISABLED"
  }
}

output "web_task_definition_arn" {
  description = "Task definition the web service runs after this apply (the deploy waits until its deployment is COMPLETED)."
  value       = try(module.web.task_definition_arn, null)
}

output "task_role_arns" {
  description = "Task role ARNs by role (web, worker, beat) and the execution role."
  value = {
    web       = module.iam.web_task_role_arn
    worker    = module.iam.worker_task_role_arn
    beat      = module.iam.beat_task_role_arn
    execution = module.iam.execution_role_arn
  }
}

output "deployment_circuit_breakers" {
  description = "Deployment circuit breaker ({ enable, rollback }) of every service, by role."
  value = merge(
    { web = module.web.deployment_circuit_breaker, worker = module.worker.deployment_circuit_breaker },
    var.run_beat_in_worker ? {} : { beat = module.beat[0].deployment_circuit_breaker },
  )
}

output "listener_rule_priority" {
  description = "Priority of the web service's host-header rule (previews; null on the platform's default target group)."
  value       = module.web.listener_rule_priority
}

output "app_secrets" {
  description = "Secret environment the tasks get: variable name => Secrets Manager ARN (the task definitions' valueFrom; ARNs only, no values)."
  value       = local.app_secrets
}
