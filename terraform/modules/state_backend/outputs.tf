output "bucket_id" {
  description = "Name of the state bucket (backend \"s3\" bucket)."
  value       = try(aws_s3_bucket.this.id, null)
}

output "bucket_arn" {
  description = "ARN of the state bucket."
  value       = try(aws_s3_bucket.this.arn, null)
}

output "bucket_region" {
  description = "Region of the state bucket (backend \"s3\" region)."
  value       = try(aws_s3_bucket.this.region, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting state (created or given); null with AES256 and no lock table."
  value       = try(local.kms_key_arn, null)
}

output "lock_table_name" {
  description = "Name of the DynamoDB lock table (backend \"s3\" dynamodb_table); null when create_lock_table = false."
  value       = try(aws_dynamodb_table.this[0].name, null)
}

output "lock_table_arn" {
  description = "ARN of the DynamoDB lock table; null when create_lock_table = false."
  value       = try(aws_dynamodb_table.this[0].arn, null)
}

output "backend_config" {
  description = "Suggested backend \"s3\" settings (bucket, region, encrypt, kms_key_id, use_lockfile and, when the table exists, dynamodb_table) for -backend-config or backend.tf."
  value = try({
    bucket         = aws_s3_bucket.this.id
    region         = aws_s3_bucket.this.region
    encrypt        = true
    kms_key_id     = var.sse_algorithm == "aws:kms" ? local.kms_key_arn : null
    use_lockfile   = true
    dynamodb_table = var.create_lock_table ? aws_dynamodb_table.this[0].name : null
  }, null)
}
