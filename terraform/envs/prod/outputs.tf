output "alb_dns_name" {
  description = "DNS name of the load balancer: point the domain_name alias at it."
  value       = module.platform.alb_dns_name
}

output "alb_zone_id" {
  description = "Hosted zone ID of the load balancer (Route 53 alias)."
  value       = module.platform.alb_zone_id
}

output "alb_access_logs_bucket" {
  description = "S3 bucket holding the ALB access logs."
  value       = module.platform.alb_access_logs_bucket
}

output "base_url" {
  description = "URL of the application."
  value       = "https://${var.domain_name}"
}

output "cluster_name" {
  description = "ECS cluster of the services (aws ecs run-task --cluster)."
  value       = module.platform.cluster_name
}

output "service_names" {
  description = "ECS service names by role (web, worker, beat)."
  value       = module.app.service_names
}

output "web_task_definition_arn" {
  description = "Task definition the web service runs after this apply (the deploy waits for its rolloutState COMPLETED)."
  value       = module.app.web_task_definition_arn
}

output "migrate_task_definition_arn" {
  description = "Migrate task definition with its revision, registered with the image of the last apply."
  value       = module.app.migrate_task_definition_arn
}

output "migrate_task_definition_family" {
  description = "Family of the migrate task definition (the deploy registers a revision with the new image)."
  value       = module.app.migrate_task_definition_family
}

output "migrate_network_configuration" {
  description = "awsvpcConfiguration for aws ecs run-task of the migrate task."
  value       = module.app.migrate_network_configuration
}

output "evidence_bucket" {
  description = "Name of the evidence bucket (S3_BUCKET)."
  value       = module.platform.evidence_bucket_name
}

output "database_endpoint" {
  description = "RDS endpoint (host:port) for the DATABASE_URL secret."
  value       = module.platform.database_endpoint
}

output "database_address" {
  description = "Host name of the RDS instance (host= of the bastion's port forwarding)."
  value       = module.platform.database_address
}

output "bastion_instance_id" {
  description = "Instance ID of the SSM bastion (aws ssm start-session --target); null without enable_bastion."
  value       = module.platform.bastion_instance_id
}

output "database_master_secret_arn" {
  description = "RDS-managed secret of the master user (admin only: create the app user with it)."
  value       = module.platform.database_master_secret_arn
}

output "redis_url_secret_arn" {
  description = "Secret holding REDIS_URL (created by the redis module)."
  value       = module.platform.redis_url_secret_arn
}

output "alarm_topic_arn" {
  description = "SNS topic receiving the alarms (subscribe on-call tooling to it)."
  value       = module.platform.alarm_topic_arn
}

output "deployment_circuit_breakers" {
  description = "Deployment circuit breaker of every service (the tests assert enable and rollback)."
  value       = module.app.deployment_circuit_breakers
}

output "database_protection" {
  description = "Multi-AZ, deletion protection and skip_final_snapshot of the database."
  value       = module.platform.database_protection
}
