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
  value       = module.platform.vpc_id
}

output "vpc_cidr_block" {
  description = "CIDR block of the preview VPC (each preview's FORWARDED_ALLOW_IPS: the ALB's addresses lie in it)."
  value       = module.platform.vpc_cidr_block
}

output "private_subnet_ids" {
  description = "Private subnets the preview tasks run in."
  value       = module.platform.private_subnet_ids
}

output "cluster_arn" {
  description = "ARN of the shared preview ECS cluster."
  value       = module.platform.cluster_arn
}

output "cluster_name" {
  description = "Name of the shared preview ECS cluster."
  value       = module.platform.cluster_name
}

output "alb_dns_name" {
  description = "DNS name of the preview ALB: target of the wildcard record *.<preview_domain>."
  value       = module.platform.alb_dns_name
}

output "alb_zone_id" {
  description = "Hosted zone ID of the preview ALB (Route 53 alias)."
  value       = module.platform.alb_zone_id
}

output "alb_access_logs_bucket" {
  description = "S3 bucket holding the preview ALB's access logs (created by the alb module)."
  value       = module.platform.alb_access_logs_bucket
}

output "alb_security_group_id" {
  description = "Security group of the preview ALB (ingress source of the preview web tasks)."
  value       = module.platform.alb_security_group_id
}

output "alb_arn_suffix" {
  description = "ARN suffix of the preview ALB (request-count metrics of the preview target groups)."
  value       = module.platform.alb_arn_suffix
}

output "https_listener_arn" {
  description = "HTTPS listener the previews add their host-header rules to."
  value       = module.platform.https_listener_arn
}

output "evidence_bucket_name" {
  description = "Shared preview evidence bucket (S3_BUCKET); each preview uses the pr-<n>/ prefix."
  value       = module.platform.evidence_bucket_name
}

output "evidence_kms_key_arn" {
  description = "KMS key of the preview evidence bucket (the preview task roles use it)."
  value       = module.platform.evidence_kms_key_arn
}

output "database_address" {
  description = "Host name of the shared preview PostgreSQL instance (each PR's DATABASE_URL points at database pr_<n> on it)."
  value       = module.platform.database_address
}

output "database_port" {
  description = "Port of the shared preview PostgreSQL instance."
  value       = module.platform.database_port
}

output "bastion_instance_id" {
  description = "Instance ID of the SSM bastion (aws ssm start-session --target); null without enable_bastion."
  value       = module.platform.bastion_instance_id
}

output "database_security_group_id" {
  description = "Security group of the preview database (each preview adds an ingress rule from its tasks)."
  value       = module.platform.database_security_group_id
}

output "database_master_secret_arn" {
  description = "RDS-managed master user secret of the preview instance (admin only)."
  value       = module.platform.database_master_secret_arn
}

output "redis_primary_endpoint" {
  description = "Primary endpoint of the shared preview Redis (each PR prefixes its keys with pr-<n>:)."
  value       = module.platform.redis_primary_endpoint
}

output "redis_security_group_id" {
  description = "Security group of the preview Redis (each preview adds an ingress rule from its tasks)."
  value       = module.platform.redis_security_group_id
}

output "shared_secret_arns" {
  description = "Secrets shared by every preview: secret_key, smtp_password, database_app_user."
  value       = var.shared_secret_arns
}

output "smtp" {
  description = "Outgoing mail settings of the previews."
  value       = var.smtp
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
  value       = module.platform.alarm_topic_arn
}

output "redis_url_secret_arn" {
  description = "Secret holding the shared preview REDIS_URL; every preview uses it with its own REDIS_KEY_PREFIX."
  value       = module.platform.redis_url_secret_arn
}

output "redis_kms_key_arn" {
  description = "KMS key of the Redis secrets (previews' execution roles decrypt REDIS_URL with it)."
  value       = module.platform.redis_kms_key_arn
}

output "logs_kms_key_arn" {
  description = "KMS key of every preview log group."
  value       = module.platform.logs_kms_key_arn
}

output "dockerhub_credentials_secret_arn" {
  description = "Docker Hub pull credentials every preview uses (null: anonymous pulls)."
  value       = var.dockerhub_credentials_secret_arn
}

output "database_protection" {
  description = "Multi-AZ, deletion protection and skip_final_snapshot of the shared preview database."
  value       = module.platform.database_protection
}

output "alb_deletion_protection" {
  description = "Whether the preview load balancer's deletion protection is on (switch it off before destroying the base)."
  value       = module.platform.alb_deletion_protection
}
