output "vpc_id" {
  description = "ID of the VPC."
  value       = try(module.network.vpc_id, null)
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC: the load balancer's addresses lie in it (the app's FORWARDED_ALLOW_IPS)."
  value       = try(module.network.vpc_cidr_block, null)
}

output "private_subnet_ids" {
  description = "Private subnets (services, database, cache)."
  value       = try(module.network.private_subnet_ids, null)
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = try(module.ecs_cluster.cluster_arn, null)
}

output "cluster_name" {
  description = "Name of the ECS cluster (aws ecs run-task --cluster)."
  value       = try(module.ecs_cluster.cluster_name, null)
}

output "logs_kms_key_arn" {
  description = "KMS key of every log group of the environment (pass it to app_services)."
  value       = try(aws_kms_key.logs.arn, null)
}

output "ecs_exec_log_group_name" {
  description = "Log group of ECS Exec sessions."
  value       = try(module.ecs_cluster.execute_command_log_group_name, null)
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (point the domain's alias at it)."
  value       = try(module.alb.dns_name, null)
}

output "alb_zone_id" {
  description = "Hosted zone ID of the load balancer (Route 53 alias)."
  value       = try(module.alb.zone_id, null)
}

output "alb_security_group_id" {
  description = "Security group of the load balancer (the web tasks allow it in)."
  value       = try(module.alb.security_group_id, null)
}

output "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch dimension, request-count scaling)."
  value       = try(module.alb.lb_arn_suffix, null)
}

output "alb_access_logs_bucket" {
  description = "S3 bucket of the ALB access logs."
  value       = try(module.alb.access_logs_bucket_id, null)
}

output "https_listener_arn" {
  description = "HTTPS listener (previews add host-header rules to it)."
  value       = try(module.alb.https_listener_arn, null)
}

output "target_group_arn" {
  description = "Default target group of the web service (null when alb.create_target_group = false)."
  value       = try(module.alb.target_group_arn, null)
}

output "request_count_resource_label" {
  description = "ALBRequestCountPerTarget resource label of the default target group (null without one)."
  value       = try(module.alb.request_count_resource_label, null)
}

output "web_acl_arn" {
  description = "WAF web ACL attached to the load balancer (null without alb.waf_enabled)."
  value       = try(aws_wafv2_web_acl.this[0].arn, null)
}

output "evidence_bucket_name" {
  description = "Name of the evidence bucket (S3_BUCKET)."
  value       = try(module.evidence_bucket.bucket_id, null)
}

output "evidence_bucket_arn" {
  description = "ARN of the evidence bucket."
  value       = try(module.evidence_bucket.bucket_arn, null)
}

output "evidence_kms_key_arn" {
  description = "KMS key of the evidence bucket (task roles need it)."
  value       = try(module.evidence_bucket.kms_key_arn, null)
}

output "database_address" {
  description = "Host name of the RDS instance."
  value       = try(module.rds.db_instance_address, null)
}

output "database_endpoint" {
  description = "RDS endpoint (host:port) for the DATABASE_URL secret."
  value       = try(module.rds.db_instance_endpoint, null)
}

output "database_port" {
  description = "Port of the RDS instance."
  value       = try(module.rds.db_instance_port, null)
}

output "database_security_group_id" {
  description = "Security group of the database (app_services adds its tasks' ingress rules)."
  value       = try(module.rds.security_group_id, null)
}

output "database_master_secret_arn" {
  description = "RDS-managed secret of the master user (admin only)."
  value       = try(module.rds.master_user_secret_arn, null)
}

output "redis_primary_endpoint" {
  description = "Primary endpoint of the Redis replication group."
  value       = try(module.redis.primary_endpoint_address, null)
}

output "redis_security_group_id" {
  description = "Security group of Redis (app_services adds its tasks' ingress rules)."
  value       = try(module.redis.security_group_id, null)
}

output "redis_url_secret_arn" {
  description = "Secret holding REDIS_URL (rediss://, AUTH token)."
  value       = try(module.redis.redis_url_secret_arn, null)
}

output "redis_auth_token_secret_arn" {
  description = "Secret holding the Redis AUTH token alone (admin tooling; the app reads REDIS_URL)."
  value       = try(module.redis.auth_token_secret_arn, null)
}

output "redis_kms_key_arn" {
  description = "KMS key of the Redis secrets (task execution roles decrypt REDIS_URL with it)."
  value       = try(module.redis.kms_key_arn, null)
}

output "alarm_topic_arn" {
  description = "SNS topic receiving the alarms."
  value       = try(module.monitoring.sns_topic_arn, null)
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the default target group (TargetGroup dimension; null without one)."
  value       = try(module.alb.target_group_arn_suffix, null)
}

output "database_protection" {
  description = "Multi-AZ, deletion protection and skip_final_snapshot of the database, as planned (the tests assert them)."
  value = {
    multi_az            = module.rds.multi_az
    deletion_protection = module.rds.deletion_protection
    skip_final_snapshot = module.rds.skip_final_snapshot
  }
}

output "alb_deletion_protection" {
  description = "Whether the load balancer's deletion protection is on, as planned."
  value       = try(module.alb.deletion_protection, null)
}

output "bastion_instance_id" {
  description = "Instance ID of the SSM bastion (aws ssm start-session --target); null without enable_bastion."
  value       = try(module.bastion.instance_id, null)
}

output "evidence_trail_arn" {
  description = "CloudTrail trail recording the evidence bucket's data events (null without audit.evidence_data_events)."
  value       = try(aws_cloudtrail.evidence[0].arn, null)
}

output "database_parameters" {
  description = "The database's DB parameter group as planned: parameter name => { value, apply_method } (the tests assert them)."
  value       = module.rds.parameters
}
