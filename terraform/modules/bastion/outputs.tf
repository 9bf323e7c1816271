output "instance_id" {
  description = "ID of the bastion instance (target of aws ssm start-session); null when create is false."
  value       = try(aws_instance.this[0].id, null)
}

output "private_ip" {
  description = "Private IP address of the bastion; null when create is false."
  value       = try(aws_instance.this[0].private_ip, null)
}

output "ami_id" {
  description = "Amazon Linux 2023 AMI the instance was launched from; null when create is false."
  value       = try(aws_instance.this[0].ami, null)
}

output "security_group_id" {
  description = "ID of the bastion's security group (allow it as a source on the RDS security group); null when create is false."
  value       = try(aws_security_group.this[0].id, null)
}

output "iam_role_name" {
  description = "Name of the bastion's IAM role; null when create is false."
  value       = try(aws_iam_role.this[0].name, null)
}

output "iam_role_arn" {
  description = "ARN of the bastion's IAM role; null when create is false."
  value       = try(aws_iam_role.this[0].arn, null)
}

output "instance_profile_name" {
  description = "Name of the bastion's instance profile; null when create is false."
  value       = try(aws_iam_instance_profile.this[0].name, null)
}
