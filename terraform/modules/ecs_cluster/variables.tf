variable "name" {
  description = "Name of the ECS cluster (e.g. \"incident-tracker-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$", var.name))
    error_message = "name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "container_insights" {
  description = "Container Insights level: enabled, enhanced (per-task/container metrics, costs more) or disabled."
  type        = string
  default     = "enabled"

  validation {
    condition     = contains(["enabled", "enhanced", "disabled"], var.container_insights)
    error_message = "container_insights must be enabled, enhanced or disabled."
  }
}

variable "default_capacity_provider_strategy" {
  description = "Default capacity provider strategy of the cluster (services may override it). E.g. prod: [{ capacity_provider = \"FARGATE\", weight = 1, base = 1 }]; dev/preview: mostly FARGATE_SPOT."
  type = list(object({
    capacity_provider = string
    weight            = number
    base              = optional(number, 0)
  }))
  default = [{ capacity_provider = "FARGATE", weight = 1, base = 1 }]

  validation {
    condition     = length(var.default_capacity_provider_strategy) > 0 && alltrue([for s in var.default_capacity_provider_strategy : contains(["FARGATE", "FARGATE_SPOT"], s.capacity_provider) && s.weight >= 0 && s.base >= 0])
    error_message = "default_capacity_provider_strategy needs at least one entry; capacity_provider must be FARGATE or FARGATE_SPOT with non-negative weight and base."
  }
}

variable "execute_command_logging" {
  description = "Configure ECS Exec for the cluster: sessions encrypted with the KMS key and their commands/output logged to a KMS-encrypted CloudWatch log group. Services still opt in with enable_execute_command."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key for ECS Exec session encryption and the exec log group (its policy must allow logs.REGION.amazonaws.com, and the task roles need kms:Decrypt on it). Null creates a dedicated key with rotation when execute_command_logging is true."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "execute_command_log_retention_days" {
  description = "Retention of the ECS Exec log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.execute_command_log_retention_days)
    error_message = "execute_command_log_retention_days must be one of the retention values CloudWatch Logs accepts."
  }
}

variable "create_kms_key" {
  description = "Create the module's own KMS key for ECS Exec sessions and logs. false: pass kms_key_arn (a flag, not a null test on the ARN, so the count is known when the ARN is not)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags merged into every resource of the module."
  type        = map(string)
  default     = {}
}
