variable "name" {
  description = "Prefix of the role names, e.g. \"incident-tracker-prod\" (roles: <name>-ecs-execution, <name>-web-task, <name>-worker-task)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,45}$", var.name))
    error_message = "name must start with a letter, use letters, digits and hyphens, and be at most 46 characters (role names are limited to 64)."
  }
}

variable "evidence_bucket_arn" {
  description = "ARN of the evidence bucket. Pass \"arn:aws:s3:::<bucket name>\" built from the name (not the evidence_bucket module output) to keep the two modules free of cycles."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.evidence_bucket_arn))
    error_message = "evidence_bucket_arn must be an S3 bucket ARN (arn:aws:s3:::name)."
  }
}

variable "evidence_kms_key_arn" {
  description = "ARN of the evidence bucket's KMS key (evidence_bucket module output kms_key_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.evidence_kms_key_arn))
    error_message = "evidence_kms_key_arn must be a KMS key ARN."
  }
}

variable "evidence_key_prefix" {
  description = "Optional extra key prefix inside the bucket (previews: \"pr-42/\"); the role policies then cover <prefix>incoming/* etc. Empty for normal environments."
  type        = string
  default     = ""

  validation {
    condition     = var.evidence_key_prefix == "" || can(regex("^[a-zA-Z0-9._-]+/$", var.evidence_key_prefix))
    error_message = "evidence_key_prefix must be empty or one path segment ending with \"/\" (e.g. \"pr-42/\")."
  }
}

variable "secret_arns" {
  description = "Secrets Manager secret ARNs the ECS execution role may read to inject task secrets (DATABASE_URL, SECRET_KEY, REDIS_URL, SMTP_PASSWORD, RDS master secret)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:", a))])
    error_message = "secret_arns must be Secrets Manager secret ARNs."
  }
}

variable "ssm_parameter_arns" {
  description = "SSM Parameter Store parameter ARNs the ECS execution role may read to inject task secrets."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ssm_parameter_arns : can(regex("^arn:aws[a-z-]*:ssm:", a))])
    error_message = "ssm_parameter_arns must be SSM parameter ARNs."
  }
}

variable "secrets_kms_key_arns" {
  description = "KMS keys encrypting those secrets/parameters; the execution role may decrypt with them only through Secrets Manager or SSM."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.secrets_kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:", a))])
    error_message = "secrets_kms_key_arns must be KMS key ARNs."
  }
}

variable "ecr_repository_arns" {
  description = "ECR repositories the execution role may pull from. Empty (images from Docker Hub) grants no ECR access at all."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ecr_repository_arns : can(regex("^arn:aws[a-z-]*:ecr:", a))])
    error_message = "ecr_repository_arns must be ECR repository ARNs."
  }
}

variable "log_group_arns" {
  description = "CloudWatch log groups (ARNs, without the trailing :*) the execution role may write container logs to. Empty allows the log groups named /ecs/<name>* in this account and region."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.log_group_arns : can(regex("^arn:aws[a-z-]*:logs:", a))])
    error_message = "log_group_arns must be CloudWatch Logs log group ARNs."
  }
}

variable "enable_ses" {
  description = "Allow the worker to send mail through the SES API (ses:SendRawEmail, ses:SendEmail). Not needed when mail goes through SES SMTP credentials (SMTP_PASSWORD)."
  type        = bool
  default     = false
}

variable "ses_identity_arns" {
  description = "SES identities (and configuration sets) the worker may send from when enable_ses = true. Empty allows every identity of this account and region."
  type        = list(string)
  default     = []
}

variable "ses_from_address" {
  description = "When set (and enable_ses = true), the worker may only send with this From address (ses:FromAddress condition)."
  type        = string
  default     = null
}

variable "ecs_exec_kms_key_arn" {
  description = "KMS key the ECS cluster encrypts exec sessions with (ecs_cluster kms_key_arn); the task roles may use it when enable_ecs_exec."
  type        = string
  default     = null
}

variable "ecs_exec_log_group_arn" {
  description = "Log group ARN (without :*) receiving ECS Exec session logs; the task roles may write to it when enable_ecs_exec."
  type        = string
  default     = null
}

variable "enable_ecs_exec" {
  description = "Grant the web and worker task roles the ssmmessages permissions ECS Exec needs (aws ecs execute-command)."
  type        = bool
  default     = false
}

variable "metric_namespace" {
  description = "The only CloudWatch namespace the worker may publish to with PutMetricData (shared/metrics.py METRIC_NAMESPACE)."
  type        = string
  default     = "IncidentTracker"
}

variable "permissions_boundary_arn" {
  description = "Optional permissions boundary for all roles."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
