output "replication_group_id" {
  description = "ID of the replication group (known at plan time: the configured replication_group_id, not the computed id)."
  value       = try(aws_elasticache_replication_group.this.replication_group_id, null)
}

output "replication_group_arn" {
  description = "ARN of the replication group."
  value       = try(aws_elasticache_replication_group.this.arn, null)
}

output "member_clusters" {
  description = "Cache cluster ids of the nodes (the CacheClusterId dimension for memory/eviction alarms)."
  value       = try(sort(tolist(aws_elasticache_replication_group.this.member_clusters)), null)
}

output "primary_endpoint_address" {
  description = "Primary (read/write) endpoint host name."
  value       = try(aws_elasticache_replication_group.this.primary_endpoint_address, null)
}

output "reader_endpoint_address" {
  description = "Reader endpoint host name (spread over replicas)."
  value       = try(aws_elasticache_replication_group.this.reader_endpoint_address, null)
}

output "port" {
  description = "Port of the replication group (6379, TLS only)."
  value       = try(aws_elasticache_replication_group.this.port, null)
}

output "auth_token_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the AUTH token (created or given)."
  value       = try(local.auth_token_secret_arn, null)
}

output "redis_url_secret_arn" {
  description = "ARN of the secret holding the full REDIS_URL (rediss://:<token>@<primary>:6379/<db>?ssl_cert_reqs=required) for the task definition secrets."
  value       = try(aws_secretsmanager_secret.redis_url.arn, null)
}

output "security_group_id" {
  description = "Security group of the replication group."
  value       = try(aws_security_group.this.id, null)
}

output "kms_key_arn" {
  description = "KMS key used for encryption at rest and the secrets (created or given)."
  value       = try(local.kms_key_arn, null)
}

output "parameter_group_name" {
  description = "Name of the parameter group (maxmemory-policy noeviction)."
  value       = try(aws_elasticache_parameter_group.this.name, null)
}

output "log_group_names" {
  description = "Map of log type (slow-log, engine-log) to CloudWatch log group name."
  value       = try({ for k, g in aws_cloudwatch_log_group.this : k => g.name }, null)
}
