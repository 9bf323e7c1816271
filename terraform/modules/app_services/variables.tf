variable "name" {
  description = "Name prefix of the services, roles and log groups (incident-tracker-<environment> or incident-tracker-pr-<n>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,39}$", var.name))
    error_message = "name must be 3-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "metrics_environment" {
  description = "METRICS_ENVIRONMENT of the app: the Environment dimension of the worker's EMF metrics (shared/metrics.py), e.g. prod or pr-42."
  type        = string
}

variable "images" {
  description = "Application images pinned by tag or digest (never :latest), as release.yml pushes them to Docker Hub: web (<namespace>/incident-tracker-web:sha-<commit>) runs the web service and the migrate task; worker (<namespace>/incident-tracker-worker:sha-<commit>, with libmagic) runs the worker and beat."
  type = object({
    web    = string
    worker = string
  })

  validation {
    condition     = alltrue([for i in values(var.images) : length(i) > 0 && !endswith(i, ":latest")])
    error_message = "images.web and images.worker must be pinned (not :latest)."
  }
}

variable "clamd_image" {
  description = "ClamAV image of the worker's clamd sidecar, pinned by tag or digest (the official image carries a signature database from its build)."
  type        = string
  default     = "clamav/clamav:1.4.3"

  validation {
    condition     = length(var.clamd_image) > 0 && !endswith(var.clamd_image, ":latest")
    error_message = "clamd_image must be pinned (not :latest)."
  }
}

variable "repository_credentials_secret_arn" {
  description = "Secrets Manager secret ({\"username\": ..., \"password\": ...} of a Docker Hub access token) for authenticated image pulls of every container. Null: anonymous pulls (rate-limited per NAT IP)."
  type        = string
  default     = null
}

variable "scanning_enabled" {
  description = "Run the clamd sidecar and scan uploads (SCANNING_ENABLED)."
  type        = bool
  default     = true
}

variable "run_beat_in_worker" {
  description = "Run the beat schedule inside the single worker task (--beat) instead of a beat service (previews)."
  type        = bool
  default     = false
}

variable "cluster" {
  description = "ECS cluster of the services: arn and name."
  type = object({
    arn  = string
    name = string
  })
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC (platform output vpc_cidr_block): gunicorn believes X-Forwarded-For/-Proto only from these addresses, the load balancer's (FORWARDED_ALLOW_IPS)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be a CIDR block such as 10.30.0.0/16."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "load_balancer" {
  description = "Where the web service is reachable: security_group_id of the ALB, lb_arn_suffix; either target_group_arn (+ target_group_arn_suffix, request_count_resource_label) of the platform's default target group, or listener_rule (previews: a target group and host-header rule of its own)."
  type = object({
    security_group_id            = string
    lb_arn_suffix                = string
    target_group_arn             = optional(string)
    target_group_arn_suffix      = optional(string)
    request_count_resource_label = optional(string)
    listener_rule = optional(object({
      listener_arn = string
      priority     = number
      host_headers = list(string)
    }))
  })
}

variable "evidence" {
  description = "Evidence bucket: bucket_name, kms_key_arn, key_prefix (\"pr-<n>/\" for previews, \"\" otherwise)."
  type = object({
    bucket_name = string
    kms_key_arn = string
    key_prefix  = optional(string, "")
  })
}

variable "database" {
  description = "The database the tasks reach: its security_group_id and port."
  type = object({
    security_group_id = string
    port              = optional(number, 5432)
  })
}

variable "redis_security_group_id" {
  description = "Security group of Redis (the tasks get an ingress rule in it)."
  type        = string
}

variable "redis_key_prefix" {
  description = "REDIS_KEY_PREFIX of the app (null: none). Previews share one Redis and prefix every key with pr-<n>: instead of taking a database index."
  type        = string
  default     = null
}

variable "app_secret_arns" {
  description = "Secrets Manager ARNs the tasks receive as DATABASE_URL, SECRET_KEY, SMTP_PASSWORD, REDIS_URL and, when set, SMTP_USERNAME (smtp_username: the SMTP user name as a secret, e.g. SES's, which is an IAM access key id; null: none or smtp.username)."
  type = object({
    database_url  = string
    secret_key    = string
    smtp_password = string
    redis_url     = string
    smtp_username = optional(string)
  })

  validation {
    condition     = alltrue([for a in values(var.app_secret_arns) : a == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", a))])
    error_message = "app_secret_arns must be Secrets Manager secret ARNs."
  }

  validation {
    condition     = var.app_secret_arns.smtp_username == null || var.smtp.username == ""
    error_message = "Give the SMTP user name once: app_secret_arns.smtp_username (a secret) or smtp.username (plain), not both."
  }
}

variable "secrets_kms_key_arns" {
  description = "Customer managed KMS keys of the secrets (the execution role decrypts with them through Secrets Manager)."
  type        = list(string)
  default     = []
}

variable "ecr_repository_arns" {
  description = "ECR repositories the execution role may pull from (empty: none; Docker Hub needs repository_credentials_secret_arn)."
  type        = list(string)
  default     = []
}

variable "smtp" {
  description = "Outgoing mail server: host, port, from (SMTP_HOST, SMTP_PORT, SMTP_FROM), security (SMTP_SECURITY: starttls, tls for implicit TLS on 465, or none), username (SMTP_USERNAME in plain text, only for a user name that is no credential; \"\": none, or app_secret_arns.smtp_username). The app logs in only with a user name; the password is the SMTP_PASSWORD secret."
  type = object({
    host     = string
    port     = optional(number, 587)
    from     = string
    security = optional(string, "starttls")
    username = optional(string, "")
  })

  validation {
    condition     = contains(["starttls", "tls", "none"], var.smtp.security)
    error_message = "smtp.security must be starttls, tls or none (the app's SMTP_SECURITY)."
  }
}

variable "base_url" {
  description = "BASE_URL of the app (https://<host>)."
  type        = string

  validation {
    condition     = startswith(var.base_url, "https://")
    error_message = "base_url must start with https://."
  }
}

variable "web" {
  description = "Size and scaling of the web service; deployment_5xx_threshold: target 5xx per minute that roll a deployment back; spot: run on FARGATE_SPOT."
  type = object({
    cpu                      = optional(number, 512)
    memory                   = optional(number, 1024)
    min_count                = optional(number, 1)
    max_count                = optional(number, 2)
    cpu_target               = optional(number, 60)
    requests_per_target      = optional(number, 500)
    deployment_5xx_threshold = optional(number, 10)
    spot                     = optional(bool, false)
  })
  default = {}
}

variable "worker" {
  description = "Size and scaling of the worker (clamd runs beside it: keep memory >= 3072 with scanning); queue_depth_per_task: target of the backlog-per-task scaling; spot: FARGATE_SPOT only (interruptions are safe: tasks are acked late and retried)."
  type = object({
    cpu                  = optional(number, 1024)
    memory               = optional(number, 3072)
    min_count            = optional(number, 1)
    max_count            = optional(number, 2)
    queue_depth_per_task = optional(number, 20)
    spot                 = optional(bool, false)
  })
  default = {}
}

variable "beat" {
  description = "Size of the Celery beat scheduler (always exactly one task; unused with run_beat_in_worker)."
  type = object({
    cpu    = optional(number, 256)
    memory = optional(number, 512)
  })
  default = {}
}

variable "ecs_exec" {
  description = "ECS Exec (aws ecs execute-command) into web and worker: enabled, and the cluster's session kms_key_arn and log_group_name, which the task roles then may use."
  type = object({
    enabled        = optional(bool, false)
    kms_key_arn    = optional(string)
    log_group_name = optional(string)
  })
  default = {}
}

variable "log_retention_days" {
  description = "Retention of the services' log groups, in days."
  type        = number
  default     = 365
}

variable "log_kms_key_arn" {
  description = "KMS key of the services' log groups (the platform's logs key)."
  type        = string
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the task and execution roles (the deploy roles may only create roles that carry it)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
