variable "name" {
  description = "Identifier of the DB instance; also the prefix of every resource name (lowercase letters, digits, hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,54}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must start with a letter, contain only lowercase letters, digits and single hyphens, and be at most 56 characters."
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
  description = "Private subnets (at least two, in different AZs) for the DB subnet group."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "private_subnet_ids needs at least two subnets (RDS requires two AZs in a DB subnet group)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (ECS tasks, bastion) allowed to connect on 5432."
  type        = list(string)
  default     = []
}

variable "engine_version" {
  description = "PostgreSQL version: a major (\"16\", \"17\") lets RDS pick the default minor; \"17.4\" pins a minor (auto_minor_version_upgrade still moves it forward)."
  type        = string
  default     = "17"

  validation {
    condition     = can(regex("^1[67](\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be PostgreSQL 16 or 17, e.g. \"17\" or \"16.8\"."
  }
}

variable "instance_class" {
  description = "DB instance class. Performance Insights needs db.t4g.medium or larger in the burstable family."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must look like db.t4g.medium."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20
    error_message = "allocated_storage must be at least 20 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Upper limit in GiB for storage autoscaling; 0 disables autoscaling."
  type        = number
  default     = 100

  validation {
    condition     = var.max_allocated_storage == 0 || var.max_allocated_storage >= 20
    error_message = "max_allocated_storage must be 0 (disabled) or at least 20."
  }
}

variable "storage_type" {
  description = "Storage type: gp3, gp2, io1 or io2."
  type        = string
  default     = "gp3"

  validation {
    condition     = contains(["gp3", "gp2", "io1", "io2"], var.storage_type)
    error_message = "storage_type must be one of gp3, gp2, io1, io2."
  }
}

variable "db_name" {
  description = "Name of the database created at launch."
  type        = string
  default     = "incident_tracker"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a letter and contain only letters, digits and underscores (max 63)."
  }
}

variable "master_username" {
  description = "Master user name. Its password is generated and rotated by RDS in Secrets Manager (manage_master_user_password)."
  type        = string
  default     = "incident_admin"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_]{0,62}$", var.master_username)) && !contains(["postgres", "admin", "rdsadmin"], lower(var.master_username))
    error_message = "master_username must start with a letter, use letters/digits/underscores, and not be a reserved or default name (postgres, admin, rdsadmin)."
  }
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights, the master user secret and the log groups. Null creates a key (rotation on) in the module."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "multi_az" {
  description = "Run a synchronous standby in another AZ (prod: true; dev/preview: false to halve the cost)."
  type        = bool
  default     = true
}

variable "backup_retention_period" {
  description = "Days of automated backups (point-in-time restore window), 1-35."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_period >= 1 && var.backup_retention_period <= 35
    error_message = "backup_retention_period must be between 1 and 35 days."
  }
}

variable "backup_window" {
  description = "Daily backup window (UTC, hh24:mi-hh24:mi); must not overlap maintenance_window."
  type        = string
  default     = "02:00-03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_window))
    error_message = "backup_window must look like 02:00-03:00."
  }
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC, ddd:hh24:mi-ddd:hh24:mi)."
  type        = string
  default     = "sun:03:30-sun:04:30"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "maintenance_window must look like sun:03:30-sun:04:30."
  }
}

variable "deletion_protection" {
  description = "Block deletion of the instance (prod: true; previews: false so they can be destroyed)."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Skip the final snapshot on deletion (previews: true). When false, final_snapshot_identifier (or \"<name>-final\") is used."
  type        = bool
  default     = false
}

variable "final_snapshot_identifier" {
  description = "Name of the final snapshot taken on deletion; null means \"<name>-final\". Ignored when skip_final_snapshot = true."
  type        = string
  default     = null
}

variable "delete_automated_backups" {
  description = "Delete the automated backups when the instance is deleted (previews: true; prod: false keeps them for their retention period)."
  type        = bool
  default     = false
}

variable "allow_major_version_upgrade" {
  description = "Allow changing engine_version to a new major (e.g. 16 -> 17). Keep false except during a planned upgrade."
  type        = bool
  default     = false
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

variable "ca_cert_identifier" {
  description = "Server certificate authority for TLS connections."
  type        = string
  default     = "rds-ca-rsa2048-g1"
}

variable "performance_insights_enabled" {
  description = "Enable Performance Insights (encrypted with the module key). Not available on the smallest burstable classes (db.t4g.micro/small)."
  type        = bool
  default     = true
}

variable "performance_insights_retention_period" {
  description = "Performance Insights retention in days: 7 (free tier), or a multiple of 31 up to 731."
  type        = number
  default     = 7

  validation {
    condition     = var.performance_insights_retention_period == 7 || var.performance_insights_retention_period == 731 || (var.performance_insights_retention_period % 31 == 0 && var.performance_insights_retention_period <= 731)
    error_message = "performance_insights_retention_period must be 7, 731 or a multiple of 31 up to 731."
  }
}

variable "monitoring_interval" {
  description = "Enhanced monitoring interval in seconds (1, 5, 10, 15, 30 or 60). A monitoring role is created."
  type        = number
  default     = 60

  validation {
    condition     = contains([1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 1, 5, 10, 15, 30, 60."
  }
}

variable "log_min_duration_statement_ms" {
  description = "Log statements slower than this many milliseconds (log_min_duration_statement); -1 disables."
  type        = number
  default     = 500
}

variable "log_statement" {
  description = "Which statements PostgreSQL logs (log_statement): none, ddl, mod or all. \"all\" logs bind values (personal data) and is not recommended."
  type        = string
  default     = "ddl"

  validation {
    condition     = contains(["none", "ddl", "mod", "all"], var.log_statement)
    error_message = "log_statement must be one of none, ddl, mod, all."
  }
}

variable "parameters" {
  description = "Extra DB parameters added to the parameter group (rds.force_ssl and the log settings are always set)."
  type = list(object({
    name         = string
    value        = string
    apply_method = optional(string, "immediate")
  }))
  default = []
}

variable "cloudwatch_log_retention_days" {
  description = "Retention of the exported postgresql/upgrade log groups."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cloudwatch_log_retention_days)
    error_message = "cloudwatch_log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, ...)."
  }
}

variable "cloudwatch_log_kms_key_arn" {
  description = "KMS key for the exported log groups. Null uses the module's key when the module creates one (its policy allows CloudWatch Logs), otherwise the log groups use CloudWatch's default encryption."
  type        = string
  default     = null
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the IAM role this module creates (the deploy roles may only create roles that carry it). Null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
