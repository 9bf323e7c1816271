################################################################################
# Account, region, naming
################################################################################

variable "aws_region" {
  description = "AWS region of the environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "aws_account_id" {
  description = "The only AWS account this root may touch (provider allowed_account_ids)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be 12 digits."
  }
}

variable "environment" {
  description = "Environment name: the Environment tag, the resource name suffix (incident-tracker-<environment>) and the Environment dimension of the app's metrics."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "repository" {
  description = "GitHub repository (owner/name) holding this code: the Repository tag."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository must be owner/name."
  }
}

################################################################################
# Network and entry point
################################################################################

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC (/16 to /20)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "azs" {
  description = "Availability zones (2 or 3) to spread subnets, NAT gateways and Multi-AZ services over."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 3
    error_message = "azs must list 2 or 3 availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheap, single-AZ egress) instead of one per AZ."
  type        = bool
  default     = false
}

variable "domain_name" {
  description = "Host name users reach the app at (BASE_URL https://<domain_name>); point a DNS alias at the alb_dns_name output."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name."
  }
}

variable "certificate_arn" {
  description = "ACM certificate (same region) covering domain_name, served by the HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "alb_ingress_cidrs" {
  description = "CIDR blocks allowed to reach the load balancer (restrict it to the office/VPN for internal environments)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.alb_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "alb_ingress_cidrs must be valid IPv4 CIDR blocks."
  }
}

variable "alb_deletion_protection" {
  description = "Deletion protection of the load balancer (switch it off in a separate apply before destroying the environment)."
  type        = bool
  default     = true
}

variable "alb_access_logs_force_destroy" {
  description = "Let terraform destroy delete the ALB access-log bucket (created by the alb module) together with its logs. false: empty it by hand before destroying the environment."
  type        = bool
  default     = false
}

################################################################################
# Application
################################################################################

variable "image" {
  description = "Application image pinned by tag or digest (<account>.dkr.ecr.<region>.amazonaws.com/incident-tracker:<git sha>); the deploy passes it with -var."
  type        = string

  validation {
    condition     = length(var.image) > 0 && !endswith(var.image, ":latest")
    error_message = "image must be pinned (not :latest)."
  }
}

variable "ecr_repository_arn" {
  description = "ECR repository the execution role may pull the application image from."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:", var.ecr_repository_arn))
    error_message = "ecr_repository_arn must be an ECR repository ARN."
  }
}

variable "clamd_image" {
  description = "ClamAV image of the worker's clamd sidecar, pinned by tag or digest (mirror it into ECR to avoid Docker Hub rate limits)."
  type        = string
  default     = "clamav/clamav:1.4.3"

  validation {
    condition     = length(var.clamd_image) > 0 && !endswith(var.clamd_image, ":latest")
    error_message = "clamd_image must be pinned (not :latest)."
  }
}

variable "app_secret_arns" {
  description = "Secrets Manager ARNs of the secrets created by hand before the first apply (see terraform/README.md): DATABASE_URL (the app's PostgreSQL user), SECRET_KEY, SMTP_PASSWORD. REDIS_URL comes from the redis module."
  type = object({
    database_url  = string
    secret_key    = string
    smtp_password = string
  })

  validation {
    condition     = alltrue([for a in values(var.app_secret_arns) : can(regex("^arn:aws[a-z-]*:secretsmanager:", a))])
    error_message = "app_secret_arns must be Secrets Manager secret ARNs."
  }
}

variable "app_secrets_kms_key_arns" {
  description = "Customer managed KMS keys encrypting app_secret_arns (empty when they use the aws/secretsmanager key)."
  type        = list(string)
  default     = []
}

variable "smtp" {
  description = "Outgoing mail server (SMTP_HOST, SMTP_PORT, SMTP_FROM); the password is the SMTP_PASSWORD secret."
  type = object({
    host = string
    port = optional(number, 587)
    from = string
  })
}

variable "web" {
  description = "Size and scaling of the web service."
  type = object({
    cpu                 = optional(number, 512)
    memory              = optional(number, 1024)
    min_count           = optional(number, 1)
    max_count           = optional(number, 2)
    cpu_target          = optional(number, 60)
    requests_per_target = optional(number, 500)
  })
  default = {}
}

variable "worker" {
  description = "Size and scaling of the worker service (clamd runs beside it: keep memory >= 3072)."
  type = object({
    cpu                = optional(number, 1024)
    memory             = optional(number, 3072)
    min_count          = optional(number, 1)
    max_count          = optional(number, 2)
    queue_depth_target = optional(number, 20)
    use_spot           = optional(bool, true)
  })
  default = {}

  validation {
    condition     = var.worker.memory >= 3072
    error_message = "worker.memory must be at least 3072 MiB: the clamd sidecar needs about 1.5 GiB for its signatures."
  }
}

variable "beat" {
  description = "Size of the Celery beat scheduler (always exactly one task)."
  type = object({
    cpu    = optional(number, 256)
    memory = optional(number, 512)
  })
  default = {}
}

variable "enable_ecs_exec" {
  description = "Allow aws ecs execute-command into web and worker tasks."
  type        = bool
  default     = false
}

################################################################################
# Data
################################################################################

variable "evidence_bucket_name" {
  description = "Name of the evidence bucket (globally unique, e.g. incident-tracker-dev-evidence-<account id>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.evidence_bucket_name))
    error_message = "evidence_bucket_name must be 3-63 lowercase letters, digits or hyphens."
  }
}

variable "evidence" {
  description = "Evidence retention: days to STANDARD_IA and GLACIER and until expiry of closed evidence without legal hold; Object Lock (GOVERNANCE, only at bucket creation); force_destroy (throw-away environments only)."
  type = object({
    standard_ia_transition_days = optional(number, 30)
    glacier_transition_days     = optional(number, 90)
    retention_days              = optional(number, 2555)
    quarantine_expiration_days  = optional(number, 30)
    object_lock_enabled         = optional(bool, false)
    force_destroy               = optional(bool, false)
  })
  default = {}
}

variable "database" {
  description = "RDS PostgreSQL sizing and protection (Performance Insights needs db.t4g.medium or larger)."
  type = object({
    instance_class          = optional(string, "db.t4g.medium")
    performance_insights    = optional(bool, true) # not available on db.t4g.micro/small
    allocated_storage       = optional(number, 20)
    max_allocated_storage   = optional(number, 100)
    multi_az                = optional(bool, false)
    deletion_protection     = optional(bool, true)
    skip_final_snapshot     = optional(bool, false)
    backup_retention_period = optional(number, 7)
  })
  default = {}
}

variable "cache" {
  description = "ElastiCache Redis sizing (the Celery broker and the login rate limits)."
  type = object({
    node_type          = optional(string, "cache.t4g.micro")
    num_cache_clusters = optional(number, 1)
  })
  default = {}
}

################################################################################
# Operations
################################################################################

variable "log_retention_days" {
  description = "Retention of the service, flow-log, ECS Exec and database log groups and of the ALB access logs in S3, in days (checkov CKV_AWS_338 wants at least a year)."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must be at least 365 (a year of logs for incident forensics)."
  }
}

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic (null: none)."
  type        = string
  default     = null
}

variable "enable_bastion" {
  description = "Create the SSM Session Manager bastion (admin access to RDS; no SSH)."
  type        = bool
  default     = false
}
