output "lb_arn" {
  description = "ARN of the load balancer."
  value       = try(aws_lb.this.arn, null)
}

output "lb_arn_suffix" {
  description = "ARN suffix of the load balancer (app/<name>/<id>): the LoadBalancer dimension of AWS/ApplicationELB metrics."
  value       = try(aws_lb.this.arn_suffix, null)
}

output "lb_id" {
  description = "ID of the load balancer."
  value       = try(aws_lb.this.id, null)
}

output "dns_name" {
  description = "DNS name of the load balancer (target of the Route 53 alias records)."
  value       = try(aws_lb.this.dns_name, null)
}

output "zone_id" {
  description = "Canonical hosted zone ID of the load balancer (for Route 53 alias records)."
  value       = try(aws_lb.this.zone_id, null)
}

output "security_group_id" {
  description = "ID of the load balancer's security group (services allow their container port from it)."
  value       = try(aws_security_group.this.id, null)
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener (preview roots add their host-header rules to it)."
  value       = try(aws_lb_listener.https.arn, null)
}

output "http_listener_arn" {
  description = "ARN of the HTTP listener (redirects to HTTPS)."
  value       = try(aws_lb_listener.http.arn, null)
}

output "target_group_arn" {
  description = "ARN of the default target group (null when create_target_group = false)."
  value       = try(aws_lb_target_group.this[0].arn, null)

  # ECS can only attach a service to a target group that a listener already forwards to.
  depends_on = [aws_lb_listener.https]
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the default target group: the TargetGroup dimension of AWS/ApplicationELB metrics (null when not created)."
  value       = try(aws_lb_target_group.this[0].arn_suffix, null)
}

output "target_group_name" {
  description = "Name of the default target group (null when not created)."
  value       = try(aws_lb_target_group.this[0].name, null)
}

output "request_count_resource_label" {
  description = "resource_label for ALBRequestCountPerTarget autoscaling of the default target group (<lb arn suffix>/<target group arn suffix>); null when no target group is created."
  value       = try("${aws_lb.this.arn_suffix}/${aws_lb_target_group.this[0].arn_suffix}", null)

  # ECS can only attach a service to a target group that a listener already forwards to.
  depends_on = [aws_lb_listener.https]
}

output "host_rule_arns" {
  description = "ARNs of the host-header listener rules, keyed like var.host_rules."
  value       = { for k, r in aws_lb_listener_rule.host : k => r.arn }
}

output "access_logs_bucket_id" {
  description = "Name of the S3 bucket receiving the ALB access logs: the bucket created by the module, or access_logs_bucket when an existing one is used."
  value       = try(local.access_logs_bucket_id, null)
}

output "access_logs_bucket_arn" {
  description = "ARN of the S3 bucket receiving the ALB access logs (created or existing)."
  value       = try(local.access_logs_bucket_arn, null)
}

output "deletion_protection" {
  description = "Whether deletion protection is on (the load balancer cannot be destroyed until an apply switches it off)."
  value       = try(aws_lb.this.enable_deletion_protection, null)
}
