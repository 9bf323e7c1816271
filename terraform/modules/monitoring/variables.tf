variable "name" {
  description = "Prefix of the SNS topic, alarms and dashboard (e.g. \"incident-tracker-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,200}$", var.name))
    error_message = "name must be letters, digits, hyphens or underscores (at most 201 characters)."
  }
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key encrypting the SNS topic (its policy must let cloudwatch.amazonaws.com use it). Null creates a dedicated key with rotation."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (the recipient must confirm the subscription). Null: no subscription."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address."
  }
}

variable "alarm_https_endpoint_secret_arn" {
  description = "ARN of a Secrets Manager secret whose value is an HTTPS URL subscribed to the alarm topic (PagerDuty's Amazon CloudWatch integration URL, Opsgenie's Amazon SNS integration URL). Null: no HTTPS subscription."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_https_endpoint_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.alarm_https_endpoint_secret_arn))
    error_message = "alarm_https_endpoint_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "rds_event_categories" {
  description = "RDS event categories of rds_instance_id sent to the alarm topic (aws rds describe-event-categories --source-type db-instance)."
  type        = list(string)
  default     = ["availability", "failover", "failure", "low storage", "maintenance"]
}

variable "alb" {
  description = "Load balancer to watch: arn_suffix (the alb module's lb_arn_suffix) and the target groups to watch for unhealthy hosts, keyed by a static name (e.g. { web = module.alb.target_group_arn_suffix }). Null: no ALB alarms. An object (rather than plain strings) so alarm creation is decided at plan time even while the ARNs are still unknown."
  type = object({
    arn_suffix                = string
    target_group_arn_suffixes = optional(map(string), {})
  })
  default = null
}

variable "ecs_cluster_name" {
  description = "Name of the ECS cluster of the services in ecs_services. Null: no ECS alarms."
  type        = string
  default     = null
}

variable "ecs_services" {
  description = "ECS services to alarm on (CPU, memory, no running task), as role => service name, e.g. { web = ..., worker = ..., beat = ... }. The keys name the alarms and must be known at plan; the names may be unknown until apply."
  type        = map(string)
  default     = {}
}

variable "rds_instance_id" {
  description = "Identifier of the RDS instance to watch (CPU, free storage, connections). Null: no RDS alarms."
  type        = string
  default     = null
}

variable "rds_instance_class" {
  description = "Instance class of the RDS instance (db.m7g.large): scales the connection and freeable-memory alarms to its memory. Null or unknown classes count as 4 GiB."
  type        = string
  default     = null
}

variable "redis_replication_group_id" {
  description = "ID of the ElastiCache replication group to watch (memory usage, evictions per node). Null: no Redis alarms."
  type        = string
  default     = null
}

variable "redis_num_cache_clusters" {
  description = "Number of nodes in the replication group; nodes are named <replication group id>-001, -002, ..."
  type        = number
  default     = 1

  validation {
    condition     = var.redis_num_cache_clusters >= 1 && var.redis_num_cache_clusters <= 6
    error_message = "redis_num_cache_clusters must be between 1 and 6."
  }
}

variable "metrics_environment" {
  description = "Value of the Environment dimension the worker publishes its EMF metrics with (shared/metrics.py, e.g. \"prod\"). Null: no queue-depth, oldest-message-age or task-failure alarms."
  type        = string
  default     = null
}

variable "queue_names" {
  description = "Celery queues (Queue dimension) to alarm on."
  type        = list(string)
  default     = ["celery"]
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the application's EMF metrics (shared/metrics.py METRIC_NAMESPACE)."
  type        = string
  default     = "IncidentTracker"
}

variable "thresholds" {
  description = "Alarm thresholds; any field left out keeps its default."
  type = object({
    alb_5xx_count                    = optional(number, 10)
    target_5xx_count                 = optional(number, 10)
    target_response_time_p95_seconds = optional(number, 2)
    unhealthy_hosts                  = optional(number, 0)
    ecs_cpu_percent                  = optional(number, 85)
    ecs_memory_percent               = optional(number, 85)
    rds_cpu_percent                  = optional(number, 80)
    rds_free_storage_bytes           = optional(number, 5368709120)
    rds_connections_percent          = optional(number, 80)
    rds_freeable_memory_percent      = optional(number, 10)
    redis_engine_cpu_percent         = optional(number, 80)
    redis_memory_percent             = optional(number, 80)
    redis_evictions                  = optional(number, 0)
    queue_depth                      = optional(number, 100)
    oldest_message_age_seconds       = optional(number, 600)
    task_failures                    = optional(number, 0)
  })
  default = {}
}

variable "period" {
  description = "Period, in seconds, over which each alarm's statistic is computed."
  type        = number
  default     = 60

  validation {
    condition     = contains([10, 30, 60, 120, 180, 240, 300, 600, 900, 1800, 3600], var.period)
    error_message = "period must be 10, 30 or a multiple of 60 up to 3600."
  }
}

variable "evaluation_periods" {
  description = "Number of recent periods each alarm looks at."
  type        = number
  default     = 5

  validation {
    condition     = var.evaluation_periods >= 1
    error_message = "evaluation_periods must be at least 1."
  }
}

variable "datapoints_to_alarm" {
  description = "How many of the evaluation_periods must breach to fire (M out of N)."
  type        = number
  default     = 3

  validation {
    condition     = var.datapoints_to_alarm >= 1 && var.datapoints_to_alarm <= var.evaluation_periods
    error_message = "datapoints_to_alarm must be between 1 and evaluation_periods."
  }
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard showing the watched metrics."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags merged into every resource of the module."
  type        = map(string)
  default     = {}
}
