# Inputs of an application environment (dev, staging, prod). The object types are those of the
# platform and app_services modules; terraform.tfvars sets what differs.

variable "aws_region" {
  description = "AWS region of the environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "aws_account_id" {
  description = "The AWS account of this environment (one account per environment, prod in its own): the only account the provider may touch (allowed_account_ids)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be 12 digits."
  }
}

variable "environment" {
  description = "Environment name: the Environment tag, the name suffix (incident-tracker-<environment>) and METRICS_ENVIRONMENT."
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

variable "domain_name" {
  description = "Host name users reach the app at (BASE_URL https://<domain_name>); point a DNS alias at the alb_dns_name output."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name."
  }
}

variable "network" {
  description = "VPC of the environment (platform module: cidr_block, azs, single_nat_gateway, flow_logs_retention_days)."
  type = object({
    cidr_block               = string
    azs                      = list(string)
    single_nat_gateway       = optional(bool, false)
    flow_logs_retention_days = optional(number, 365)
  })
}

variable "alb" {
  description = "Load balancer (platform module). ingress_cidrs has no default: dev and staging name the office/VPN ranges, prod 0.0.0.0/0 behind the WAF (waf_enabled)."
  type = object({
    certificate_arn           = string
    ingress_cidrs             = list(string)
    deletion_protection       = optional(bool, true)
    access_logs_force_destroy = optional(bool, false)
    waf_enabled               = optional(bool, false)
    login_rate_limit          = optional(number, 100)
  })

  validation {
    condition     = var.alb.waf_enabled || !contains(var.alb.ingress_cidrs, "0.0.0.0/0")
    error_message = "alb.ingress_cidrs may only be 0.0.0.0/0 with alb.waf_enabled (the internet-facing prod load balancer)."
  }
}

variable "evidence" {
  description = "Evidence bucket (platform module): bucket_name, lifecycle days, object_lock_enabled/object_lock_mode, force_destroy."
  type = object({
    bucket_name                 = string
    standard_ia_transition_days = optional(number, 30)
    glacier_transition_days     = optional(number, 90)
    retention_days              = optional(number, 2555)
    quarantine_expiration_days  = optional(number, 30)
    object_lock_enabled         = optional(bool, false)
    object_lock_mode            = optional(string, "GOVERNANCE")
    force_destroy               = optional(bool, false)
  })
}

variable "database" {
  description = "RDS PostgreSQL sizing and protection, and parameters added to its DB parameter group (platform module)."
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
}

variable "cache" {
  description = "ElastiCache Redis sizing (platform module)."
  type = object({
    node_type          = optional(string, "cache.t4g.micro")
    num_cache_clusters = optional(number, 1)
  })
  default = {}
}

variable "audit" {
  description = "CloudTrail data events of the evidence bucket (platform module: evidence_data_events, retention_days)."
  type = object({
    evidence_data_events = optional(bool, false)
    retention_days       = optional(number, 2555)
  })
  default = {}
}

variable "web_image" {
  description = "Web image pinned to a build of the pipeline: docker.io/<namespace>/incident-tracker-web@sha256:<digest> (pushed by release.yml; deploy.sh passes it by digest), or :sha-<full commit sha>, or both (:sha-<commit>@sha256:<digest>): the web service and the migrate task. The deploy passes it with -var."
  type        = string

  validation {
    # Only what the pipeline builds: a sha-<40 hex> tag and/or a sha256 digest. Never an untagged
    # name, latest or a branch tag, whose image changes when someone pushes again.
    condition     = can(regex("^[a-z0-9][a-z0-9._/-]*(:sha-[0-9a-f]{40}|@sha256:[0-9a-f]{64}|:sha-[0-9a-f]{40}@sha256:[0-9a-f]{64})$", var.web_image))
    error_message = "web_image must be <repository>:sha-<full commit sha>, <repository>@sha256:<64 hex> or both (<repository>:sha-<commit>@sha256:<digest>), not an untagged name, latest or a branch tag."
  }
}

variable "worker_image" {
  description = "Worker image pinned to a build of the pipeline: docker.io/<namespace>/incident-tracker-worker@sha256:<digest> (pushed by release.yml; deploy.sh passes it by digest, same commit as web_image), or :sha-<full commit sha>, or both (:sha-<commit>@sha256:<digest>): the worker and beat. The deploy passes it with -var."
  type        = string

  validation {
    # Only what the pipeline builds: a sha-<40 hex> tag and/or a sha256 digest. Never an untagged
    # name, latest or a branch tag, whose image changes when someone pushes again.
    condition     = can(regex("^[a-z0-9][a-z0-9._/-]*(:sha-[0-9a-f]{40}|@sha256:[0-9a-f]{64}|:sha-[0-9a-f]{40}@sha256:[0-9a-f]{64})$", var.worker_image))
    error_message = "worker_image must be <repository>:sha-<full commit sha>, <repository>@sha256:<64 hex> or both (<repository>:sha-<commit>@sha256:<digest>), not an untagged name, latest or a branch tag."
  }
}

variable "clamd_image" {
  description = "ClamAV image of the worker's clamd sidecar, pinned by tag or digest."
  type        = string
  default     = "clamav/clamav:1.4.3"
}

variable "dockerhub_credentials_secret_arn" {
  description = "Secrets Manager secret with the Docker Hub pull credentials ({\"username\": ..., \"password\": <access token>}), created by hand. Null: anonymous pulls."
  type        = string
  default     = null
}

variable "ecr_repository_arns" {
  description = "ECR repositories the tasks may pull from (empty when the images come from Docker Hub)."
  type        = list(string)
  default     = []
}

variable "app_secret_arns" {
  description = "Secrets Manager ARNs of the secrets created by hand before the first apply (terraform/README.md): DATABASE_URL, SECRET_KEY, SMTP_PASSWORD and, optional, SMTP_USERNAME (smtp_username: SES's SMTP user name, an IAM access key id). REDIS_URL comes from the redis module."
  type = object({
    database_url  = string
    secret_key    = string
    smtp_password = string
    smtp_username = optional(string)
  })
}

variable "app_secrets_kms_key_arns" {
  description = "Customer managed KMS keys encrypting app_secret_arns (empty when they use the aws/secretsmanager key)."
  type        = list(string)
  default     = []
}

variable "smtp" {
  description = "Outgoing mail server (app_services module): host, port, from, security (SMTP_SECURITY: starttls, tls or none), username (plain SMTP_USERNAME, only for a user name that is no credential; SES's goes into app_secret_arns.smtp_username). The password is the SMTP_PASSWORD secret."
  type = object({
    host     = string
    port     = optional(number, 587)
    from     = string
    security = optional(string, "starttls")
    username = optional(string, "")
  })
}

variable "web" {
  description = "Size and scaling of the web service (app_services module)."
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
  description = "Size and scaling of the worker (app_services module); spot = true runs it on FARGATE_SPOT only."
  type = object({
    cpu                  = optional(number, 1024)
    memory               = optional(number, 3072)
    min_count            = optional(number, 1)
    max_count            = optional(number, 2)
    queue_depth_per_task = optional(number, 20)
    spot                 = optional(bool, false)
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
  description = "Allow aws ecs execute-command into web and worker tasks (session encryption and logging permissions included)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the service, ECS Exec, database, cache and WAF log groups and of the ALB access logs, in days."
  type        = number
  default     = 365
}

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic (null: none)."
  type        = string
  default     = null
}

variable "alarm_https_endpoint_secret_arn" {
  description = "ARN of a Secrets Manager secret holding an HTTPS URL (PagerDuty's Amazon CloudWatch integration, Opsgenie's Amazon SNS integration) subscribed to the alarm topic; null: e-mail only (platform module)."
  type        = string
  default     = null
}

variable "enable_bastion" {
  description = "Create the SSM Session Manager bastion (admin access to RDS; no SSH)."
  type        = bool
  default     = false
}
