output "cluster_id" {
  description = "ID of the ECS cluster."
  value       = try(aws_ecs_cluster.this.id, null)

  # Services that use FARGATE/FARGATE_SPOT must wait until the providers are associated.
  depends_on = [aws_ecs_cluster_capacity_providers.this]
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = try(aws_ecs_cluster.this.arn, null)

  # Services that use FARGATE/FARGATE_SPOT must wait until the providers are associated.
  depends_on = [aws_ecs_cluster_capacity_providers.this]
}

output "cluster_name" {
  description = "Name of the ECS cluster (ClusterName dimension of ECS metrics; autoscaling resource ids)."
  value       = try(aws_ecs_cluster.this.name, null)

  # Services that use FARGATE/FARGATE_SPOT must wait until the providers are associated.
  depends_on = [aws_ecs_cluster_capacity_providers.this]
}

output "capacity_providers" {
  description = "Capacity providers associated with the cluster."
  value       = try(aws_ecs_cluster_capacity_providers.this.capacity_providers, [])
}

output "execute_command_log_group_name" {
  description = "Name of the CloudWatch log group receiving ECS Exec session logs (null when execute_command_logging is false)."
  value       = try(aws_cloudwatch_log_group.exec[0].name, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key for ECS Exec sessions and logs (created or passed in; null when execute_command_logging is false). Task roles of services with enable_execute_command need kms:Decrypt on it."
  value       = try(local.kms_key_arn, null)
}
