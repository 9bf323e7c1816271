output "bucket_id" {
  description = "Name of the evidence bucket (S3_BUCKET for the app)."
  value       = try(aws_s3_bucket.this.id, null)
}

output "bucket_arn" {
  description = "ARN of the evidence bucket."
  value       = try(aws_s3_bucket.this.arn, null)
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the evidence bucket."
  value       = try(aws_s3_bucket.this.bucket_regional_domain_name, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the evidence bucket (give it to the iam module as evidence_kms_key_arn)."
  value       = try(aws_kms_key.this.arn, null)
}

output "kms_key_id" {
  description = "ID of the KMS key encrypting the evidence bucket."
  value       = try(aws_kms_key.this.key_id, null)
}

output "log_bucket_id" {
  description = "Name of the access-log bucket."
  value       = try(aws_s3_bucket.logs.id, null)
}

output "log_bucket_arn" {
  description = "ARN of the access-log bucket."
  value       = try(aws_s3_bucket.logs.arn, null)
}

output "prefixes" {
  description = "Key prefixes used in the bucket (from shared/evidence/tags.py): incoming, evidence, quarantine, thumbnails."
  value = {
    incoming   = "incoming/"
    evidence   = "evidence/"
    quarantine = "quarantine/"
    thumbnails = "thumbnails/"
  }
}
