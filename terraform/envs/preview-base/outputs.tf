# Read by every envs/preview root through data.terraform_remote_state.base.

output "aws_region" {
  description = "Region of the preview base."
  value       = var.aws_region
}

output "preview_domain" {
  description = "DNS zone of the previews (host pr-<n>.<preview_domain>)."
  value       = var.preview_domain
}

output "vpc_id" {
  description = "ID of the preview VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnets the preview tasks run in."
  value       = module.network.private_subnet_ids
}

output "cluster_arn" {
  description = "ARN of the shared preview ECS cluster."
  value       = module.ecs_cluster.cluster_arn
}

output "cluster_name" {
  description = "Name of the shared preview ECS cluster."
  value       = module.ecs_cluster.cluster_name
}

output "alb_dns_name" {
  description = "DNS name of the preview ALB: target of the wildcard record *.<preview_domain>."
  value       = module.alb.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone ID of the preview ALB (Route 53 alias)."
  value       = module.alb.zone_id
}

output "alb_access_logs_bucket" {
  description = "S3 bucket holding the preview ALB's access logs (created by the alb module)."
  value       = module.alb.access_logs_bucket_id
}

output "alb_security_group_id" {
  description = "Security group of the preview ALB (ingress source of the preview web tasks)."
  value       = module.alb.security_group_id
}

output "alb_arn_suffix" {
  description = "ARN suffix of the preview ALB (request-count metrics of the preview target groups)."
  value       = module.alb.lb_arn_suffix
}

output "https_listener_arn" {
  description = "HTTPS listener the previews add their host-header rules to."
  value       = module.alb.https_listener_arn
}

output "evidence_bucket_name" {
  description = "Shared preview evidence bucket (S3_BUCKET); each preview uses the pr-<n>/ prefix."
  value       = module.evidence_bucket.bucket_id
}

output "evidence_kms_key_arn" {
  description = "KMS key of the preview evidence bucket (the preview task roles use it)."
  value       = module.evidence_bucket.kms_key_arn
}

output "database_address" {
  description = "Host name of the shared preview PostgreSQL instance (each PR's DATABASE_URL points at database pr_<n> on it)."
  value       = module.rds.db_instance_address
}

output "database_port" {
  description = "Port of the shared preview PostgreSQL instance."
  value       = module.rds.db_instance_port
}

output "database_security_group_id" {
  description = "Security group of the preview database (each preview adds an ingress rule from its tasks)."
  value       = module.rds.security_group_id
}

output "database_master_secret_arn" {
  description = "RDS-managed master user secret of the preview instance (admin only)."
  value       = module.rds.master_user_secret_arn
}

output "redis_primary_endpoint" {
  description = "Primary endpoint of the shared preview Redis (each PR uses database <n> mod 16)."
  value       = module.redis.primary_endpoint_address
}

output "redis_auth_token_secret_arn" {
  description = "Secret holding the preview Redis AUTH token (the preview workflow builds each PR's REDIS_URL from it)."
  value       = module.redis.auth_token_secret_arn
}

output "redis_security_group_id" {
  description = "Security group of the preview Redis (each preview adds an ingress rule from its tasks)."
  value       = module.redis.security_group_id
}

output "shared_secret_arns" {
  description = "Secrets shared by every preview: secret_key, smtp_password, database_app_user."
  value       = var.shared_secret_arns
}

output "smtp" {
  description = "Outgoing mail settings of the previews."
  value       = var.smtp
}

output "ecr_repository_arn" {
  description = "ECR repository of the application image."
  value       = var.ecr_repository_arn
}

output "clamd_image" {
  description = "clamd sidecar image of the previews."
  value       = var.clamd_image
}

output "log_retention_days" {
  description = "Log retention of the preview log groups."
  value       = var.log_retention_days
}

output "alarm_topic_arn" {
  description = "SNS topic of the preview alarms."
  value       = module.monitoring.sns_topic_arn
}
