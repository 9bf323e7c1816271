output "service_name" {
  description = "Name of the ECS service."
  value       = try(aws_ecs_service.this.name, null)
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = try(aws_ecs_service.this.id, null)
}

output "task_definition_arn" {
  description = "ARN (with revision) of the service's task definition."
  value       = try(aws_ecs_task_definition.this.arn, null)
}

output "task_definition_family" {
  description = "Family of the service's task definition."
  value       = try(aws_ecs_task_definition.this.family, null)
}

output "task_definition_revision" {
  description = "Revision of the service's task definition."
  value       = try(aws_ecs_task_definition.this.revision, null)
}

output "migrate_task_definition_arn" {
  description = "ARN (with revision) of the one-off migrate task definition (null unless create_migrate_task_definition). Run it before updating the services: aws ecs run-task --task-definition <arn> --launch-type FARGATE --network-configuration <private subnets + security_group_id>."
  value       = try(aws_ecs_task_definition.migrate[0].arn, null)
}

output "migrate_task_definition_family" {
  description = "Family of the migrate task definition (null unless create_migrate_task_definition)."
  value       = try(aws_ecs_task_definition.migrate[0].family, null)
}

output "container_name" {
  description = "Name of the main container (for run-task overrides and load balancer attachments)."
  value       = var.container_name
}

output "security_group_id" {
  description = "ID of the tasks' security group (allow it as a source on RDS and Redis; use it for the migrate run-task)."
  value       = try(aws_security_group.this.id, null)
}

output "log_group_name" {
  description = "Name of the service's CloudWatch log group (the worker's EMF metric lines land here too)."
  value       = try(aws_cloudwatch_log_group.this.name, null)
}

output "log_group_arn" {
  description = "ARN of the service's CloudWatch log group."
  value       = try(aws_cloudwatch_log_group.this.arn, null)
}

output "log_kms_key_arn" {
  description = "ARN of the KMS key encrypting the log group (created or passed in)."
  value       = try(local.log_kms_key_arn, null)
}

output "target_group_arn" {
  description = "ARN of the target group the service is attached to (created here for listener_rule, or the one passed in); null without load_balancer."
  value       = try(local.target_group_arn, null)
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group created here (TargetGroup dimension of ALB metrics); null when none was created."
  value       = try(aws_lb_target_group.this[0].arn_suffix, null)
}

output "listener_rule_arn" {
  description = "ARN of the host-header listener rule created here; null without load_balancer.listener_rule."
  value       = try(aws_lb_listener_rule.this[0].arn, null)
}

output "autoscaling_target_resource_id" {
  description = "Resource id of the Application Auto Scaling target (service/<cluster>/<service>); null when autoscaling is off."
  value       = try(aws_appautoscaling_target.this[0].resource_id, null)
}

output "deployment_circuit_breaker" {
  description = "Deployment circuit breaker of the service ({ enable, rollback })."
  value       = try(aws_ecs_service.this.deployment_circuit_breaker[0], null)
}

output "listener_rule_priority" {
  description = "Priority of the host-header listener rule created here (null when none was created)."
  value       = try(aws_lb_listener_rule.this[0].priority, null)
}
