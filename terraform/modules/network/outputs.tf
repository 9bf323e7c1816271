output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this.id, null)
}

output "vpc_arn" {
  description = "ARN of the VPC."
  value       = try(aws_vpc.this.arn, null)
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC (used by security groups that allow traffic from inside the VPC)."
  value       = try(aws_vpc.this.cidr_block, null)
}

output "azs" {
  description = "Availability zones the subnets are spread over, in subnet order."
  value       = var.azs
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (ALB, NAT gateways), one per AZ."
  value       = try(aws_subnet.public[*].id, [])
}

output "public_subnet_cidrs" {
  description = "CIDR blocks of the public subnets."
  value       = try(aws_subnet.public[*].cidr_block, [])
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (ECS tasks, RDS, Redis, bastion), one per AZ."
  value       = try(aws_subnet.private[*].id, [])
}

output "private_subnet_cidrs" {
  description = "CIDR blocks of the private subnets."
  value       = try(aws_subnet.private[*].cidr_block, [])
}

output "internet_gateway_id" {
  description = "ID of the internet gateway."
  value       = try(aws_internet_gateway.this.id, null)
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways (one, or one per AZ)."
  value       = try(aws_nat_gateway.this[*].id, [])
}

output "nat_public_ips" {
  description = "Public Elastic IPs of the NAT gateways (the egress addresses to allow-list at third parties, e.g. the SMTP provider)."
  value       = try(aws_eip.nat[*].public_ip, [])
}

output "public_route_table_id" {
  description = "ID of the public route table."
  value       = try(aws_route_table.public.id, null)
}

output "private_route_table_ids" {
  description = "IDs of the private route tables, one per AZ (for gateway VPC endpoints such as S3)."
  value       = try(aws_route_table.private[*].id, [])
}

output "default_security_group_id" {
  description = "ID of the VPC's default security group, left with no rules."
  value       = try(aws_default_security_group.this.id, null)
}

output "flow_log_id" {
  description = "ID of the VPC flow log."
  value       = try(aws_flow_log.this.id, null)
}

output "flow_log_group_name" {
  description = "Name of the CloudWatch log group receiving the VPC flow logs."
  value       = try(aws_cloudwatch_log_group.flow_logs.name, null)
}

output "flow_logs_kms_key_arn" {
  description = "ARN of the KMS key encrypting the flow log group (created or passed in)."
  value       = try(local.flow_logs_kms_key_arn, null)
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway VPC endpoint (null when s3_gateway_endpoint = false)."
  value       = try(aws_vpc_endpoint.s3[0].id, null)
}
