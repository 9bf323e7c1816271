output "db_instance_identifier" {
  description = "DB instance identifier (the DBInstanceIdentifier dimension for CloudWatch alarms)."
  value       = try(aws_db_instance.this.identifier, null)
}

output "db_instance_id" {
  description = "Same as db_instance_identifier (the instance name used by alarms and the CLI; not the dbi- resource id)."
  value       = try(aws_db_instance.this.identifier, null)
}

output "db_instance_resource_id" {
  description = "DBI resource id (db-XXXX), used in rds-db:connect IAM policies for IAM database authentication."
  value       = try(aws_db_instance.this.resource_id, null)
}

output "db_instance_arn" {
  description = "ARN of the DB instance."
  value       = try(aws_db_instance.this.arn, null)
}

output "db_instance_endpoint" {
  description = "Connection endpoint in host:port form."
  value       = try(aws_db_instance.this.endpoint, null)
}

output "db_instance_address" {
  description = "Host name of the DB instance."
  value       = try(aws_db_instance.this.address, null)
}

output "db_instance_port" {
  description = "Port of the DB instance (5432)."
  value       = try(aws_db_instance.this.port, null)
}

output "db_instance_name" {
  description = "Name of the database created at launch."
  value       = try(aws_db_instance.this.db_name, null)
}

output "db_instance_username" {
  description = "Master user name."
  value       = try(aws_db_instance.this.username, null)
  sensitive   = true
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret (JSON with username and password) of the master user."
  value       = try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}

output "security_group_id" {
  description = "Security group of the DB instance."
  value       = try(aws_security_group.this.id, null)
}

output "kms_key_arn" {
  description = "KMS key encrypting storage, Performance Insights and the master secret (created or given)."
  value       = try(local.kms_key_arn, null)
}

output "db_subnet_group_name" {
  description = "Name of the DB subnet group."
  value       = try(aws_db_subnet_group.this.name, null)
}

output "parameter_group_name" {
  description = "Name of the DB parameter group."
  value       = try(aws_db_parameter_group.this.name, null)
}

output "monitoring_role_arn" {
  description = "ARN of the enhanced monitoring role."
  value       = try(aws_iam_role.monitoring.arn, null)
}

output "cloudwatch_log_group_names" {
  description = "Map of exported log type (postgresql, upgrade) to CloudWatch log group name."
  value       = try({ for k, g in aws_cloudwatch_log_group.this : k => g.name }, null)
}

output "multi_az" {
  description = "Whether the instance runs a synchronous standby in another AZ."
  value       = try(aws_db_instance.this.multi_az, null)
}

output "deletion_protection" {
  description = "Whether deletion protection is on."
  value       = try(aws_db_instance.this.deletion_protection, null)
}

output "skip_final_snapshot" {
  description = "Whether deleting the instance skips the final snapshot (false: RDS keeps \"<name>-final\", billed until deleted)."
  value       = try(aws_db_instance.this.skip_final_snapshot, null)
}

output "parameters" {
  description = "Parameters of the DB parameter group as planned: name => { value, apply_method }."
  value       = try({ for p in aws_db_parameter_group.this.parameter : p.name => { value = p.value, apply_method = p.apply_method } }, null)
}
