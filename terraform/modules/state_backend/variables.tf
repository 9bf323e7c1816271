variable "bucket_name" {
  description = "Name of the S3 bucket that stores Terraform state (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "sse_algorithm" {
  description = "Server-side encryption of the state bucket: \"aws:kms\" (customer managed KMS key) or \"AES256\" (SSE-S3)."
  type        = string
  default     = "aws:kms"

  validation {
    condition     = contains(["aws:kms", "AES256"], var.sse_algorithm)
    error_message = "sse_algorithm must be \"aws:kms\" or \"AES256\"."
  }
}

variable "kms_key_arn" {
  description = "Existing KMS key ARN for the bucket and the lock table. When null (and sse_algorithm is aws:kms, or the lock table is created) the module creates a key with rotation enabled."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before a created KMS key is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

variable "create_lock_table" {
  description = "Create the DynamoDB lock table (classic locking). Not needed when every root uses Terraform >= 1.10 S3-native locking (use_lockfile = true)."
  type        = bool
  default     = true
}

variable "lock_table_name" {
  description = "Name of the DynamoDB lock table. Defaults to \"<bucket_name>-lock\"."
  type        = string
  default     = null

  validation {
    condition     = var.lock_table_name == null || can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.lock_table_name))
    error_message = "lock_table_name must be 3-255 characters of letters, digits, underscore, dot or hyphen."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent (superseded) state versions are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "access_log_bucket" {
  description = "Optional existing bucket (name) that receives S3 server access logs of the state bucket. Null disables access logging (CloudTrail management events still record bucket configuration changes, not object reads)."
  type        = string
  default     = null
}

variable "access_log_prefix" {
  description = "Key prefix for access logs in access_log_bucket."
  type        = string
  default     = "s3-access/terraform-state/"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "state_principal_arns" {
  description = "IAM principals (role ARNs, `*` wildcards allowed as in ArnLike) that run Terraform against this bucket: the plan and deploy roles. With admin_principal_arns set, no other principal may touch a state object or use the key, whatever its IAM policies allow."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.state_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:", arn))])
    error_message = "state_principal_arns must be IAM ARNs (arn:aws:iam::<account id>:role/...)."
  }
}

variable "admin_principal_arns" {
  description = "IAM principals (role or user ARNs, `*` wildcards allowed as in ArnLike) that administer the backend: change the bucket's settings and policy, delete state versions, administer the key. Empty: the bucket and key policies restrict nobody (IAM decides alone). Set, the principal applying must match one of them (the apply stops otherwise instead of locking it out); the account's root user always passes (break-glass)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:", arn))])
    error_message = "admin_principal_arns must be IAM ARNs (arn:aws:iam::<account id>:role/...)."
  }
}
