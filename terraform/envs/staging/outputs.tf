output "alb_dns_name" {
  description = "DNS name of the load balancer: point the domain_name alias (Route 53 ALIAS or CNAME) at it."
  value       = module.alb.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone ID of the load balancer (for a Route 53 alias record)."
  value       = module.alb.zone_id
}

output "alb_access_logs_bucket" {
  description = "S3 bucket holding the ALB access logs (created by the alb module), under <environment name>/AWSLogs/<account id>/."
  value       = module.alb.access_logs_bucket_id
}

output "base_url" {
  description = "URL of the application."
  value       = "https://${var.domain_name}"
}

output "cluster_name" {
  description = "ECS cluster of the services (aws ecs run-task --cluster)."
  value       = module.ecs_cluster.cluster_name
}

output "service_names" {
  description = "ECS service names, for aws ecs update-service / wait services-stable."
  value = {
    web    = module.web.service_name
    worker = module.worker.service_name
    beat   = module.beat.service_name
  }
}

output "migrate_task_definition_arn" {
  description = "Migrate task definition with its revision (aws ecs run-task --task-definition), registered with the image of the last apply."
  value       = module.web.migrate_task_definition_arn
}

output "migrate_task_definition_family" {
  description = "Task definition family of the one-off migrate task (aws ecs run-task --task-definition)."
  value       = module.web.migrate_task_definition_family
}

output "migrate_network_configuration" {
  description = "awsvpcConfiguration for aws ecs run-task of the migrate task: private subnets, the web tasks' security group (allowed into RDS), no public IP."
  value = {
    subnets        = module.network.private_subnet_ids
    securityGroups = [module.web.security_group_id]
    assignPublicIp = "DISABLED"
  }
}

output "evidence_bucket" {
  description = "Name of the evidence bucket (S3_BUCKET)."
  value       = module.evidence_bucket.bucket_id
}

output "database_endpoint" {
  description = "RDS endpoint (host:port) for the DATABASE_URL secret."
  value       = module.rds.db_instance_endpoint
}

output "database_master_secret_arn" {
  description = "RDS-managed secret of the master user (admin only: create the app user with it)."
  value       = module.rds.master_user_secret_arn
}

output "redis_url_secret_arn" {
  description = "Secret holding REDIS_URL (created by the redis module)."
  value       = module.redis.redis_url_secret_arn
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "alarm_topic_arn" {
  description = "SNS topic receiving the alarms (subscribe on-call tooling to it)."
  value       = module.monitoring.sns_topic_arn
}
