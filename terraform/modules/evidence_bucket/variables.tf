variable "bucket_name" {
  description = "Name of the evidence bucket (globally unique). Env roots compute it once and also pass arn:aws:s3:::<bucket_name> to the iam module (see README)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits or hyphens (no dots: virtual-hosted TLS)."
  }
}

variable "log_bucket_name" {
  description = "Name of the access-log bucket created by the module; null means \"<bucket_name>-access-logs\" (must then fit in 63 characters)."
  type        = string
  default     = null

  validation {
    condition     = var.log_bucket_name == null ? length(var.bucket_name) <= 51 : can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.log_bucket_name))
    error_message = "log_bucket_name must be 3-63 lowercase letters, digits or hyphens; when null, bucket_name must be at most 51 characters so that \"<bucket_name>-access-logs\" fits."
  }
}

variable "worker_role_arn" {
  description = "ARN of the worker task role: the only principal that may read unscanned objects and write object tags. Matched with ArnLike, so a bucket shared by previews may use a pattern such as arn:aws:iam::111122223333:role/incident-tracker-pr-*-worker-task."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/*-]+$", var.worker_role_arn))
    error_message = "worker_role_arn must be an IAM role ARN (wildcards allowed in the role name)."
  }
}

variable "web_role_arn" {
  description = "ARN (or ArnLike pattern, see worker_role_arn) of the web task role: denied any write outside incoming/ and any read of incoming/ or quarantine/ (defence in depth beside its IAM policy)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/*-]+$", var.web_role_arn))
    error_message = "web_role_arn must be an IAM role ARN (wildcards allowed in the role name)."
  }
}

variable "nested_prefixes_enabled" {
  description = "Also apply the read/tag guards to <any>/evidence/*, <any>/thumbnails/*, ... (a bucket shared by previews that nest the layout under pr-<n>/). Lifecycle prefix rules still match only the top-level prefixes."
  type        = bool
  default     = false
}

variable "standard_ia_transition_days" {
  description = "Days after creation at which closed evidence (retention=closed) moves to STANDARD_IA."
  type        = number
  default     = 30

  validation {
    condition     = var.standard_ia_transition_days >= 30
    error_message = "standard_ia_transition_days must be at least 30 (S3 minimum for STANDARD_IA)."
  }
}

variable "glacier_transition_days" {
  description = "Days after creation at which closed evidence moves to GLACIER_IR (Glacier Instant Retrieval: served at once like STANDARD_IA, which the app needs, since it never restores an object; 90 days minimum storage)."
  type        = number
  default     = 90

  validation {
    condition     = var.glacier_transition_days >= var.standard_ia_transition_days + 30
    error_message = "glacier_transition_days must be at least standard_ia_transition_days + 30 (STANDARD_IA minimum storage duration)."
  }
}

variable "retention_days" {
  description = "Days after creation at which closed evidence not on legal hold expires (becomes a noncurrent version, then is deleted after noncurrent_version_expiration_days)."
  type        = number
  default     = 2555

  validation {
    condition     = var.retention_days > var.glacier_transition_days
    error_message = "retention_days must be greater than glacier_transition_days (S3 rejects an expiration before the last transition). Keep 90+ days in GLACIER_IR to avoid its early-deletion charge."
  }
}

variable "quarantine_expiration_days" {
  description = "Days after which objects under quarantine/ expire."
  type        = number
  default     = 30

  validation {
    condition     = var.quarantine_expiration_days >= 1
    error_message = "quarantine_expiration_days must be at least 1."
  }
}

variable "incoming_expiration_days" {
  description = "Days after which leftovers under incoming/ (uploads the worker never moved) expire."
  type        = number
  default     = 2

  validation {
    condition     = var.incoming_expiration_days >= 1 && var.incoming_expiration_days <= 30
    error_message = "incoming_expiration_days must be between 1 and 30."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions (overwritten or expired objects) are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which incomplete multipart uploads are aborted."
  type        = number
  default     = 1

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1
    error_message = "abort_incomplete_multipart_upload_days must be at least 1."
  }
}

variable "object_lock_enabled" {
  description = "Enable S3 Object Lock (can only be set when the bucket is created). Adds a GOVERNANCE default retention."
  type        = bool
  default     = false
}

variable "object_lock_mode" {
  description = "Default retention mode when object_lock_enabled. GOVERNANCE: a principal with s3:BypassGovernanceRetention could shorten it, which the bucket policy denies to everyone. COMPLIANCE: nobody, not even the account root, can delete a locked version before its retention ends; use it where the retention is a legal promise, knowing a mistaken retention cannot be undone."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = contains(["GOVERNANCE", "COMPLIANCE"], var.object_lock_mode)
    error_message = "object_lock_mode must be GOVERNANCE or COMPLIANCE."
  }
}

variable "object_lock_default_retention_days" {
  description = "Default GOVERNANCE retention in days applied to new object versions when object_lock_enabled = true."
  type        = number
  default     = 30

  validation {
    condition     = var.object_lock_default_retention_days >= 1
    error_message = "object_lock_default_retention_days must be at least 1."
  }
}

variable "eventbridge_notifications_enabled" {
  description = "Send the bucket's object events to Amazon EventBridge (optional; the worker is driven by the app's task queue)."
  type        = bool
  default     = false
}

variable "access_log_retention_days" {
  description = "Days the S3 server access logs are kept in the log bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before the bucket's KMS key is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a non-empty bucket (previews only; never in prod)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
