output "execution_role_arn" {
  description = "ARN of the ECS task execution role (task definition executionRoleArn)."
  value       = try(aws_iam_role.execution.arn, null)
}

output "execution_role_name" {
  description = "Name of the ECS task execution role."
  value       = try(aws_iam_role.execution.name, null)
}

output "web_task_role_arn" {
  description = "ARN of the web task role (web task definition taskRoleArn; evidence_bucket web_role_arn)."
  value       = try(aws_iam_role.web.arn, null)
}

output "web_task_role_name" {
  description = "Name of the web task role."
  value       = try(aws_iam_role.web.name, null)
}

output "worker_task_role_arn" {
  description = "ARN of the worker task role (worker task definition taskRoleArn; evidence_bucket worker_role_arn)."
  value       = try(aws_iam_role.worker.arn, null)
}

output "worker_task_role_name" {
  description = "Name of the worker task role."
  value       = try(aws_iam_role.worker.name, null)
}

output "beat_task_role_arn" {
  description = "ARN of the Celery beat task role (no AWS permissions)."
  value       = try(aws_iam_role.beat.arn, null)
}
