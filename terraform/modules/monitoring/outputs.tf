output "sns_topic_arn" {
  description = "ARN of the alarm SNS topic (subscribe other endpoints, e.g. chat integrations, to it)."
  value       = try(aws_sns_topic.this.arn, null)
}

output "sns_topic_name" {
  description = "Name of the alarm SNS topic."
  value       = try(aws_sns_topic.this.name, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the topic (created or passed in)."
  value       = try(local.kms_key_arn, null)
}

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms, keyed by alarm key (e.g. alb-elb-5xx, ecs-<role>-cpu, rds-free-storage, queue-celery-depth)."
  value = merge(
    { for k, a in aws_cloudwatch_metric_alarm.this : k => a.arn },
    { for q, a in aws_cloudwatch_metric_alarm.queue_depth : "queue-${q}-depth" => a.arn },
    { for q, a in aws_cloudwatch_metric_alarm.oldest_message_age : "queue-${q}-oldest-message-age" => a.arn },
    { for q, a in aws_cloudwatch_metric_alarm.task_failures : "queue-${q}-task-failures" => a.arn },
  )
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms, keyed by alarm key."
  value = merge(
    { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name },
    { for q, a in aws_cloudwatch_metric_alarm.queue_depth : "queue-${q}-depth" => a.alarm_name },
    { for q, a in aws_cloudwatch_metric_alarm.oldest_message_age : "queue-${q}-oldest-message-age" => a.alarm_name },
    { for q, a in aws_cloudwatch_metric_alarm.task_failures : "queue-${q}-task-failures" => a.alarm_name },
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (null when create_dashboard is false)."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}

output "dashboard_arn" {
  description = "ARN of the CloudWatch dashboard (null when create_dashboard is false)."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_arn, null)
}
