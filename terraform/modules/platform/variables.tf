variable "name" {
  description = "Name prefix of every resource (incident-tracker-<environment>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,39}$", var.name))
    error_message = "name must be 3-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "network" {
  description = "VPC: cidr_block, azs (2 or 3), single_nat_gateway (one NAT for all AZs: cheap, single-AZ egress), flow_logs_retention_days."
  type = object({
    cidr_block               = string
    azs                      = list(string)
    single_nat_gateway       = optional(bool, false)
    flow_logs_retention_days = optional(number, 365)
  })

  validation {
    condition     = can(cidrhost(var.network.cidr_block, 0)) && length(var.network.azs) >= 2 && length(var.network.azs) <= 3
    error_message = "network.cidr_block must be an IPv4 CIDR and network.azs must list 2 or 3 zones."
  }
}

variable "alb" {
  description = "Load balancer: certificate_arn (ACM, same region), ingress_cidrs (who may connect; required, no default), deletion_protection, access_logs_force_destroy, create_target_group (false for the preview base: every preview brings its own), waf_enabled (web ACL with AWS managed rules and a per-IP rate limit on /login), login_rate_limit (requests per IP per 5 minutes)."
  type = object({
    certificate_arn           = string
    ingress_cidrs             = list(string)
    deletion_protection       = optional(bool, true)
    access_logs_force_destroy = optional(bool, false)
    create_target_group       = optional(bool, true)
    waf_enabled               = optional(bool, false)
    login_rate_limit          = optional(number, 100)
  })

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.alb.certificate_arn))
    error_message = "alb.certificate_arn must be an ACM certificate ARN."
  }

  validation {
    condition     = length(var.alb.ingress_cidrs) > 0 && alltrue([for c in var.alb.ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "alb.ingress_cidrs must list at least one IPv4 CIDR block."
  }

  validation {
    condition     = var.alb.login_rate_limit >= 10
    error_message = "alb.login_rate_limit must be at least 10 (WAF's minimum)."
  }
}

variable "cluster_capacity_provider_strategy" {
  description = "Default capacity provider strategy of the ECS cluster (services may set their own)."
  type = list(object({
    capacity_provider = string
    weight            = number
    base              = optional(number, 0)
  }))
  default = [{ capacity_provider = "FARGATE", weight = 1, base = 0 }]
}

variable "evidence" {
  description = "Evidence bucket: bucket_name (globally unique); task_role_prefix (task roles <prefix>-{web,worker}-task the bucket policy names; null: name; previews: incident-tracker-pr-*); nested_prefixes_enabled (previews: the layout under pr-<n>/); lifecycle days; object_lock_enabled and object_lock_mode (only at bucket creation); force_destroy (throw-away environments only)."
  type = object({
    bucket_name                 = string
    task_role_prefix            = optional(string)
    nested_prefixes_enabled     = optional(bool, false)
    standard_ia_transition_days = optional(number, 30)
    glacier_transition_days     = optional(number, 90)
    retention_days              = optional(number, 2555)
    quarantine_expiration_days  = optional(number, 30)
    object_lock_enabled         = optional(bool, false)
    object_lock_mode            = optional(string, "GOVERNANCE")
    force_destroy               = optional(bool, false)
  })

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.evidence.bucket_name))
    error_message = "evidence.bucket_name must be 3-63 lowercase letters, digits or hyphens."
  }
}

variable "database" {
  description = "RDS PostgreSQL sizing and protection (Performance Insights needs db.t4g.medium or larger), and parameters added to its DB parameter group (name, value as RDS takes it, apply_method immediate or pending-reboot; rds.force_ssl and the log settings are always set)."
  type = object({
    instance_class          = optional(string, "db.t4g.medium")
    performance_insights    = optional(bool, true)
    allocated_storage       = optional(number, 20)
    max_allocated_storage   = optional(number, 100)
    multi_az                = optional(bool, false)
    deletion_protection     = optional(bool, true)
    skip_final_snapshot     = optional(bool, false)
    backup_retention_period = optional(number, 7)
    parameters = optional(list(object({
      name         = string
      value        = string
      apply_method = optional(string, "immediate")
    })), [])
  })
  default = {}

  validation {
    condition     = alltrue([for p in var.database.parameters : contains(["immediate", "pending-reboot"], p.apply_method)])
    error_message = "database.parameters: apply_method must be immediate or pending-reboot."
  }

  validation {
    condition     = length(distinct([for p in var.database.parameters : p.name])) == length(var.database.parameters)
    error_message = "database.parameters: each parameter may be set once."
  }
}

variable "cache" {
  description = "ElastiCache Redis sizing (the Celery broker and the login rate limits); two or more nodes get automatic failover and Multi-AZ."
  type = object({
    node_type                = optional(string, "cache.t4g.micro")
    num_cache_clusters       = optional(number, 1)
    snapshot_retention_limit = optional(number, 7)
  })
  default = {}
}

variable "log_retention_days" {
  description = "Retention of the ECS Exec, database, cache and WAF log groups and of the ALB access logs, in days."
  type        = number
  default     = 365
}

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic (null: none)."
  type        = string
  default     = null
}

variable "alarm_https_endpoint_secret_arn" {
  description = "Secrets Manager secret holding an HTTPS URL subscribed to the alarm topic (PagerDuty, Opsgenie; null: none). The alarms, the ECS deployment failures, the database's and Redis's events all go to that topic."
  type        = string
  default     = null
}

variable "enable_bastion" {
  description = "Create the SSM Session Manager bastion (admin access to RDS; no SSH)."
  type        = bool
  default     = false
}

variable "monitoring" {
  description = "What the alarms watch beyond the platform: ecs_services (role => ECS service name, e.g. app_services' service_names; keys must be known at plan), metrics_environment (Environment dimension of the worker's queue metrics; null: no queue alarms)."
  type = object({
    ecs_services        = optional(map(string), {})
    metrics_environment = optional(string)
  })
  default = {}
}

variable "audit" {
  description = "evidence_data_events: record every read, write and delete of evidence objects in a CloudTrail trail of their own (S3 data events, about $0.10 per 100,000 events), kept retention_days in a bucket of its own."
  type = object({
    evidence_data_events = optional(bool, false)
    retention_days       = optional(number, 2555)
  })
  default = {}
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of every IAM role the platform creates (flow logs, RDS monitoring, bastion); the deploy roles may only create roles that carry it."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource (the provider's default_tags come on top)."
  type        = map(string)
  default     = {}
}
