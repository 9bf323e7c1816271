variable "name" {
  description = "Replication group id and prefix of every resource name (lowercase letters, digits, hyphens; at most 40 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must start with a letter, use lowercase letters, digits and single hyphens, and be at most 40 characters."
  }
}

variable "vpc_id" {
  description = "VPC in which the security group is created."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the cache subnet group (one per AZ used)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 1
    error_message = "private_subnet_ids needs at least one subnet."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (ECS tasks) allowed to connect on 6379."
  type        = list(string)
  default     = []
}

variable "engine" {
  description = "Cache engine: \"redis\" (Redis OSS) or \"valkey\" (protocol compatible, lower price)."
  type        = string
  default     = "redis"

  validation {
    condition     = contains(["redis", "valkey"], var.engine)
    error_message = "engine must be \"redis\" or \"valkey\"."
  }
}

variable "engine_version" {
  description = "Engine version (major.minor), e.g. \"7.1\" for Redis OSS or \"8.0\" for Valkey. The parameter group family is derived from it."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", var.engine_version)) && try(tonumber(split(".", var.engine_version)[0]) >= 7, false)
    error_message = "engine_version must look like 7.1 and be 7 or newer (Redis OSS 7.x, Valkey 7.2/8.x)."
  }
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.t4g.small"

  validation {
    condition     = can(regex("^cache\\.[a-z0-9]+\\.[a-z0-9]+$", var.node_type))
    error_message = "node_type must look like cache.t4g.small."
  }
}

variable "num_cache_clusters" {
  description = "Number of nodes (1 primary + replicas). Automatic failover and Multi-AZ need at least 2."
  type        = number
  default     = 2

  validation {
    condition     = var.num_cache_clusters >= 1 && var.num_cache_clusters <= 6
    error_message = "num_cache_clusters must be between 1 and 6."
  }
}

variable "automatic_failover_enabled" {
  description = "Promote a replica automatically when the primary fails (needs num_cache_clusters >= 2)."
  type        = bool
  default     = true

  validation {
    condition     = !var.automatic_failover_enabled || var.num_cache_clusters >= 2
    error_message = "automatic_failover_enabled needs num_cache_clusters >= 2."
  }
}

variable "multi_az_enabled" {
  description = "Place replicas in other AZs and fail over across AZs (needs automatic_failover_enabled)."
  type        = bool
  default     = true

  validation {
    condition     = !var.multi_az_enabled || var.automatic_failover_enabled
    error_message = "multi_az_enabled needs automatic_failover_enabled = true."
  }
}

variable "kms_key_arn" {
  description = "KMS key for encryption at rest, the auth token secrets and the log group. Null creates a key (rotation on) in the module."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "create_auth_token" {
  description = "Generate the AUTH token (Secrets Manager GetRandomPassword, 64 letters and digits) and store it in a new Secrets Manager secret. When false, auth_token_secret_arn must name an existing secret whose SecretString is the token."
  type        = bool
  default     = true
}

variable "auth_token_secret_arn" {
  description = "Existing Secrets Manager secret holding the AUTH token (16-128 printable characters, no spaces, \", / or @). Used when create_auth_token = false."
  type        = string
  default     = null

  validation {
    condition     = var.auth_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.auth_token_secret_arn))
    error_message = "auth_token_secret_arn must be a Secrets Manager secret ARN."
  }

  validation {
    condition     = var.create_auth_token || var.auth_token_secret_arn != null
    error_message = "auth_token_secret_arn is required when create_auth_token = false."
  }
}

variable "redis_url_database" {
  description = "Database index used in the REDIS_URL secret (rediss://:<token>@<primary>:6379/<n>?ssl_cert_reqs=required)."
  type        = number
  default     = 0

  validation {
    condition     = var.redis_url_database >= 0 && var.redis_url_database <= 15
    error_message = "redis_url_database must be between 0 and 15."
  }
}

variable "secret_recovery_window_in_days" {
  description = "Recovery window of the secrets created by the module (0 deletes at once, useful for previews)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_in_days == 0 || (var.secret_recovery_window_in_days >= 7 && var.secret_recovery_window_in_days <= 30)
    error_message = "secret_recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "parameters" {
  description = "Extra parameters for the parameter group. maxmemory-policy is always noeviction (a queue must not lose messages)."
  type = list(object({
    name  = string
    value = string
  }))
  default = []

  validation {
    condition     = !contains([for p in var.parameters : p.name], "maxmemory-policy")
    error_message = "maxmemory-policy is fixed to noeviction by the module."
  }
}

variable "snapshot_retention_limit" {
  description = "Days of automatic daily snapshots kept (0 disables)."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_limit >= 0 && var.snapshot_retention_limit <= 35
    error_message = "snapshot_retention_limit must be between 0 and 35."
  }
}

variable "snapshot_window" {
  description = "Daily snapshot window (UTC, hh24:mi-hh24:mi); must not overlap maintenance_window."
  type        = string
  default     = "03:00-04:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.snapshot_window))
    error_message = "snapshot_window must look like 03:00-04:00."
  }
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC, ddd:hh24:mi-ddd:hh24:mi)."
  type        = string
  default     = "sun:05:00-sun:06:00"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "maintenance_window must look like sun:05:00-sun:06:00."
  }
}

variable "final_snapshot_identifier" {
  description = "Name of a final snapshot taken when the group is deleted; null takes none."
  type        = string
  default     = null
}

variable "auto_minor_version_upgrade" {
  description = "Apply minor engine upgrades in the maintenance window."
  type        = bool
  default     = true
}

variable "apply_immediately" {
  description = "Apply modifications immediately instead of in the next maintenance window."
  type        = bool
  default     = false
}

variable "notification_topic_arn" {
  description = "Optional SNS topic for ElastiCache events (failover, node replacement)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the slow-log and engine-log CloudWatch log groups."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, ...)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key of the slow/engine log groups (e.g. the environment's logs key). Null: the module's own key (when it creates one)."
  type        = string
  default     = null
}

variable "engine_log_enabled" {
  description = "Also deliver the engine log (besides the slow log) to CloudWatch Logs."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
