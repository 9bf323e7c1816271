################################################################################
# Identity and placement
################################################################################

variable "name" {
  description = "Name of the service, its task definition family, log group and security group (e.g. \"incident-tracker-prod-web\", \"...-worker\", \"...-beat\", \"pr-42-web\")."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$", var.name))
    error_message = "name must be 1-63 characters of letters, digits, hyphens and underscores, starting with a letter or digit."
  }
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster the service runs in."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:", var.cluster_arn))
    error_message = "cluster_arn must be an ECS cluster ARN."
  }
}

variable "cluster_name" {
  description = "Name of the ECS cluster (autoscaling resource id service/<cluster>/<service>, CloudWatch dimensions)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,255}$", var.cluster_name))
    error_message = "cluster_name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "vpc_id" {
  description = "ID of the VPC (security group of the tasks; its CIDR is the default destination of the in-VPC egress rules)."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "private_subnet_ids" {
  description = "IDs of the private subnets the tasks run in (no public IP is ever assigned)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) > 0
    error_message = "private_subnet_ids must not be empty."
  }
}

variable "capacity_provider_strategy" {
  description = "Capacity provider strategy of the service (FARGATE and/or FARGATE_SPOT). Spot suits workers that tolerate interruption; keep web and beat on FARGATE in production."
  type = list(object({
    capacity_provider = string
    weight            = number
    base              = optional(number, 0)
  }))
  default = [{ capacity_provider = "FARGATE", weight = 1, base = 0 }]

  validation {
    condition     = length(var.capacity_provider_strategy) > 0 && alltrue([for s in var.capacity_provider_strategy : contains(["FARGATE", "FARGATE_SPOT"], s.capacity_provider) && s.weight >= 0 && s.base >= 0])
    error_message = "capacity_provider_strategy needs at least one entry; capacity_provider must be FARGATE or FARGATE_SPOT with non-negative weight and base."
  }
}

variable "platform_version" {
  description = "Fargate platform version."
  type        = string
  default     = "LATEST"

  validation {
    condition     = can(regex("^(LATEST|[0-9]+\\.[0-9]+\\.[0-9]+)$", var.platform_version))
    error_message = "platform_version must be LATEST or a version such as 1.4.0."
  }
}

################################################################################
# Task definition: main container
################################################################################

variable "image" {
  description = "Container image of the main container, pinned by tag or digest (e.g. \"<account>.dkr.ecr.<region>.amazonaws.com/incident-tracker:<git sha>\")."
  type        = string

  validation {
    condition     = length(var.image) > 0 && !endswith(var.image, ":latest")
    error_message = "image must be set and pinned (not :latest)."
  }
}

variable "container_name" {
  description = "Name of the main container."
  type        = string
  default     = "app"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$", var.container_name))
    error_message = "container_name must be letters, digits, hyphens and underscores."
  }
}

variable "command" {
  description = "Command of the main container, e.g. [\"gunicorn\", \"--config\", \"web/gunicorn_conf.py\", \"web.wsgi:app\"] (web), [\"celery\", \"--app\", \"worker.celery_app\", \"worker\", \"--loglevel\", \"INFO\"] (worker), [..., \"beat\", ...] (beat). Null keeps the image's CMD."
  type        = list(string)
  default     = null
}

variable "container_port" {
  description = "Port the main container listens on (8000 for web). Null for containers that serve no traffic (worker, beat)."
  type        = number
  default     = null

  validation {
    condition     = var.container_port == null || try(var.container_port >= 1 && var.container_port <= 65535, false)
    error_message = "container_port must be a TCP port or null."
  }
}

variable "cpu" {
  description = "Task CPU units (Fargate: 256, 512, 1024, 2048, 4096, 8192 or 16384); must pair with a valid memory size."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Task memory in MiB (a size Fargate allows for the chosen cpu, e.g. 512-2048 for 256 CPU, 1024-4096 for 512)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory >= 512 && var.memory <= 122880
    error_message = "memory must be between 512 and 122880 MiB."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the image: X86_64 or ARM64 (Graviton, cheaper; the image must be built for it)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "environment" {
  description = "Plain environment variables of the main container (APP_ENV, LOG_FORMAT, STORAGE_BACKEND, S3_BUCKET, AWS_REGION, SCANNING_ENABLED, CLAMD_ADDRESS, SMTP_HOST, SMTP_PORT, SMTP_FROM, BASE_URL, ...). Never put secrets here."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))])
    error_message = "environment keys must be valid variable names."
  }
}

variable "secrets" {
  description = "Secret environment variables of the main container: name => ARN of a Secrets Manager secret (optionally with :json-key:: suffix) or SSM parameter (DATABASE_URL, SECRET_KEY, REDIS_URL, SMTP_PASSWORD). The execution role must be allowed to read them."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.secrets : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k)) && can(regex("^arn:aws[a-z-]*:(secretsmanager|ssm):", v))])
    error_message = "secrets must map variable names to Secrets Manager secret or SSM parameter ARNs."
  }
}

variable "readonly_root_filesystem" {
  description = "Mount the main container's root filesystem read-only (web and worker allow it: a writable ephemeral volume is mounted at /tmp)."
  type        = bool
  default     = true
}

variable "user" {
  description = "User (UID or UID:GID) the main container runs as; the image's non-root app user is 10001."
  type        = string
  default     = "10001"

  validation {
    condition     = can(regex("^[0-9]+(:[0-9]+)?$", var.user)) && !can(regex("^0(:|$)", var.user))
    error_message = "user must be a numeric, non-root UID (optionally UID:GID)."
  }
}

variable "stop_timeout" {
  description = "Seconds the main container gets between SIGTERM and SIGKILL (Celery warm shutdown finishes the running task; Fargate allows at most 120)."
  type        = number
  default     = 30

  validation {
    condition     = var.stop_timeout >= 2 && var.stop_timeout <= 120
    error_message = "stop_timeout must be between 2 and 120 seconds."
  }
}

variable "container_health_check" {
  description = "Optional container health check of the main container (command in ECS form, e.g. [\"CMD\", \"python\", \"-c\", \"...\"]). Null: none (the ALB health check covers web)."
  type = object({
    command      = list(string)
    interval     = optional(number, 30)
    timeout      = optional(number, 5)
    retries      = optional(number, 3)
    start_period = optional(number, 60)
  })
  default = null
}

variable "ephemeral_storage_gib" {
  description = "Task ephemeral storage in GiB (21-200); null keeps Fargate's default 20 GiB. Raise it for workers handling large evidence files."
  type        = number
  default     = null

  validation {
    condition     = var.ephemeral_storage_gib == null || try(var.ephemeral_storage_gib >= 21 && var.ephemeral_storage_gib <= 200, false)
    error_message = "ephemeral_storage_gib must be between 21 and 200, or null."
  }
}

variable "sidecars" {
  description = "Extra containers of the task, e.g. clamd for the worker: { name = \"clamd\", image = \"clamav/clamav:1.4\", port = 3310, essential = true, writable_paths = [\"/var/lib/clamav\", \"/run/clamav\", \"/tmp\"] }. The main container waits for each sidecar to START (or to be HEALTHY when it has a health_check). Each writable_paths entry gets its own ephemeral volume."
  type = list(object({
    name                     = string
    image                    = string
    command                  = optional(list(string))
    port                     = optional(number)
    essential                = optional(bool, true)
    cpu                      = optional(number)
    memory                   = optional(number)
    memory_reservation       = optional(number)
    user                     = optional(string)
    readonly_root_filesystem = optional(bool, true)
    writable_paths           = optional(list(string), [])
    environment              = optional(map(string), {})
    health_check = optional(object({
      command      = list(string)
      interval     = optional(number, 30)
      timeout      = optional(number, 10)
      retries      = optional(number, 3)
      start_period = optional(number, 120)
    }))
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.sidecars : can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$", s.name)) && s.name != var.container_name && length(s.image) > 0]) && length(distinct([for s in var.sidecars : s.name])) == length(var.sidecars)
    error_message = "Each sidecar needs a unique valid name (different from container_name) and an image."
  }
}

################################################################################
# Roles and logs
################################################################################

variable "task_role_arn" {
  description = "ARN of the IAM role the application assumes (from the iam module: web or worker task role)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.task_role_arn))
    error_message = "task_role_arn must be an IAM role ARN."
  }
}

variable "execution_role_arn" {
  description = "ARN of the task execution role (pulls the image, writes logs, reads the secrets); from the iam module."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.execution_role_arn))
    error_message = "execution_role_arn must be an IAM role ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the service's CloudWatch log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the retention values CloudWatch Logs accepts."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of the KMS key encrypting the log group (its policy must allow logs.REGION.amazonaws.com). Null creates a dedicated key with rotation."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.log_kms_key_arn))
    error_message = "log_kms_key_arn must be a KMS key ARN."
  }
}

################################################################################
# Service
################################################################################

variable "desired_count" {
  description = "Number of tasks when the service is created. Afterwards Terraform ignores drift on it (autoscaling owns it); beat must stay at 1."
  type        = number
  default     = 1

  validation {
    condition     = var.desired_count >= 0
    error_message = "desired_count must not be negative."
  }
}

variable "deployment_minimum_healthy_percent" {
  description = "Lower bound of running tasks during a deployment, in percent of desired_count (0 for beat, so two schedulers never overlap)."
  type        = number
  default     = 100

  validation {
    condition     = var.deployment_minimum_healthy_percent >= 0 && var.deployment_minimum_healthy_percent <= 100
    error_message = "deployment_minimum_healthy_percent must be between 0 and 100."
  }
}

variable "deployment_maximum_percent" {
  description = "Upper bound of running tasks during a deployment, in percent of desired_count (100 for beat)."
  type        = number
  default     = 200

  validation {
    condition     = var.deployment_maximum_percent >= 100 && var.deployment_maximum_percent <= 400
    error_message = "deployment_maximum_percent must be between 100 and 400."
  }
}

variable "enable_execute_command" {
  description = "Allow ECS Exec (aws ecs execute-command) into the tasks; the task role then needs the ssmmessages permissions."
  type        = bool
  default     = false
}

variable "wait_for_steady_state" {
  description = "Make terraform apply wait until the service reaches a steady state."
  type        = bool
  default     = false
}

variable "load_balancer" {
  description = "Attach the main container (container_port) to an ALB. security_group_id: the ALB's group (ingress source). Then either target_group_arn (an existing target group, e.g. the alb module's default) or listener_rule (this module creates an ip target group and a host-header rule on that listener: previews). lb_arn_suffix lets the module derive the request-count scaling label for the target group it creates. listener_rule.deregistration_delay: 300 s, as the alb module's target group (the slowest supported upload finishes while a deploy replaces its task)."
  type = object({
    security_group_id = string
    target_group_arn  = optional(string)
    listener_rule = optional(object({
      listener_arn         = string
      priority             = number
      host_headers         = list(string)
      health_check_path    = optional(string, "/healthz")
      deregistration_delay = optional(number, 300)
    }))
    lb_arn_suffix                     = optional(string)
    health_check_grace_period_seconds = optional(number, 60)
  })
  default = null

  validation {
    condition     = var.load_balancer == null ? true : ((var.load_balancer.target_group_arn == null) != (var.load_balancer.listener_rule == null))
    error_message = "load_balancer needs exactly one of target_group_arn or listener_rule."
  }

  validation {
    condition     = var.load_balancer == null || var.container_port != null
    error_message = "load_balancer requires container_port."
  }
}

variable "egress_rules" {
  description = "Egress rules of the tasks' security group, keyed by a short name. cidr_ipv4 = null means the VPC CIDR. Defaults: HTTPS anywhere (AWS APIs, ECR through NAT), PostgreSQL and Redis inside the VPC, SMTP submission (587) anywhere."
  type = map(object({
    port        = number
    cidr_ipv4   = optional(string)
    description = optional(string, "")
  }))
  default = {
    https    = { port = 443, cidr_ipv4 = "0.0.0.0/0", description = "HTTPS to AWS APIs and ECR" }
    postgres = { port = 5432, description = "PostgreSQL (RDS) in the VPC" }
    redis    = { port = 6379, description = "Redis (ElastiCache) in the VPC" }
    smtp     = { port = 587, cidr_ipv4 = "0.0.0.0/0", description = "SMTP submission (STARTTLS)" }
  }

  validation {
    condition     = alltrue([for r in values(var.egress_rules) : r.port >= 1 && r.port <= 65535 && (r.cidr_ipv4 == null || can(cidrhost(coalesce(r.cidr_ipv4, "0.0.0.0/0"), 0)))])
    error_message = "Each egress rule needs a TCP port and, when set, a valid IPv4 CIDR."
  }
}

################################################################################
# Autoscaling
################################################################################

variable "autoscaling_enabled" {
  description = "Create an Application Auto Scaling target for the service; the policies below are each enabled by their target value."
  type        = bool
  default     = false
}

variable "autoscaling_min_capacity" {
  description = "Minimum number of tasks when autoscaling."
  type        = number
  default     = 1

  validation {
    condition     = var.autoscaling_min_capacity >= 0
    error_message = "autoscaling_min_capacity must not be negative."
  }
}

variable "autoscaling_max_capacity" {
  description = "Maximum number of tasks when autoscaling."
  type        = number
  default     = 4

  validation {
    condition     = var.autoscaling_max_capacity >= var.autoscaling_min_capacity
    error_message = "autoscaling_max_capacity must be at least autoscaling_min_capacity."
  }
}

variable "autoscaling_cpu_target" {
  description = "Target average CPU utilisation (percent) of the ECSServiceAverageCPUUtilization policy. Null: no CPU policy."
  type        = number
  default     = 60

  validation {
    condition     = var.autoscaling_cpu_target == null || try(var.autoscaling_cpu_target > 0 && var.autoscaling_cpu_target <= 100, false)
    error_message = "autoscaling_cpu_target must be between 0 and 100, or null."
  }
}

variable "autoscaling_request_count_target" {
  description = "Target requests per task per minute of the ALBRequestCountPerTarget policy (web). Null: no request-count policy."
  type        = number
  default     = null

  validation {
    condition     = var.autoscaling_request_count_target == null || try(var.autoscaling_request_count_target > 0, false)
    error_message = "autoscaling_request_count_target must be positive, or null."
  }
}

variable "autoscaling_request_count_resource_label" {
  description = "resource_label of the ALBRequestCountPerTarget policy: app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id> (the alb module's request_count_resource_label output). Null derives it when this module creates the target group and load_balancer.lb_arn_suffix is set."
  type        = string
  default     = null

  validation {
    condition     = var.autoscaling_request_count_resource_label == null || can(regex("^app/[^/]+/[^/]+/targetgroup/[^/]+/[^/]+$", var.autoscaling_request_count_resource_label))
    error_message = "autoscaling_request_count_resource_label must look like app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>."
  }
}

variable "autoscaling_queue_depth_target" {
  description = "Target value of the queue-depth policy (worker): messages waiting per running task (QueueDepth / RunningTaskCount) that the service tolerates before adding tasks. Null: no queue-depth policy. Requires queue_depth_metric."
  type        = number
  default     = null

  validation {
    condition     = var.autoscaling_queue_depth_target == null || try(var.autoscaling_queue_depth_target > 0, false)
    error_message = "autoscaling_queue_depth_target must be positive, or null."
  }

  validation {
    condition     = var.autoscaling_queue_depth_target == null || var.queue_depth_metric != null
    error_message = "autoscaling_queue_depth_target needs queue_depth_metric (at least its environment)."
  }
}

variable "queue_depth_metric" {
  description = "The queue-depth metric the worker publishes through EMF (contract in shared/metrics.py): namespace IncidentTracker, metric QueueDepth, dimensions Environment and Queue. Scaling divides it by the service's running tasks (autoscaling_queue_depth_target is messages per task)."
  type = object({
    environment = string
    queue       = optional(string, "celery")
    namespace   = optional(string, "IncidentTracker")
    metric_name = optional(string, "QueueDepth")
    statistic   = optional(string, "Average")
  })
  default = null

  validation {
    condition     = var.queue_depth_metric == null ? true : contains(["Average", "Maximum", "Minimum", "Sum", "SampleCount"], var.queue_depth_metric.statistic)
    error_message = "queue_depth_metric.statistic must be Average, Maximum, Minimum, Sum or SampleCount."
  }
}

variable "deployment_alarm_names" {
  description = "CloudWatch alarms ECS watches during a deployment (e.g. the target 5xx alarm of this service); an alarm in ALARM rolls the deployment back."
  type        = list(string)
  default     = []
}

variable "repository_credentials_secret_arn" {
  description = "Secrets Manager secret ({\"username\": ..., \"password\": ...}) for private registry pulls (Docker Hub), used for every container of the task. The execution role must be allowed to read it. Null: anonymous pulls (ECR needs none)."
  type        = string
  default     = null

  validation {
    condition     = var.repository_credentials_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.repository_credentials_secret_arn))
    error_message = "repository_credentials_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "autoscaling_scale_in_cooldown" {
  description = "Seconds after a scale-in before another scale-in may start."
  type        = number
  default     = 300

  validation {
    condition     = var.autoscaling_scale_in_cooldown >= 0
    error_message = "autoscaling_scale_in_cooldown must not be negative."
  }
}

variable "autoscaling_scale_out_cooldown" {
  description = "Seconds after a scale-out before another scale-out may start."
  type        = number
  default     = 60

  validation {
    condition     = var.autoscaling_scale_out_cooldown >= 0
    error_message = "autoscaling_scale_out_cooldown must not be negative."
  }
}

################################################################################
# One-off migrate task
################################################################################

variable "create_migrate_task_definition" {
  description = "Also register a one-off \"migrate\" task definition (same image, environment, secrets, roles and log group; migrate_command) that the deploy runs with aws ecs run-task before updating the services. Set it on the web service only."
  type        = bool
  default     = false
}

variable "migrate_command" {
  description = "Command of the migrate task."
  type        = list(string)
  default     = ["flask", "--app", "web", "db", "upgrade"]

  validation {
    condition     = length(var.migrate_command) > 0
    error_message = "migrate_command must not be empty."
  }
}

################################################################################
# Tags
################################################################################

variable "create_log_kms_key" {
  description = "Create the module's own KMS key for the log group. false: pass log_kms_key_arn (a flag, not a null test on the ARN, so the count is known when the ARN is not)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags merged into every resource of the module (propagated from the service to its tasks)."
  type        = map(string)
  default     = {}
}
