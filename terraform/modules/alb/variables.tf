variable "name" {
  description = "Name of the load balancer and prefix of its security group and target group (at most 28 characters: AWS caps ALB and target group names at 32)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,26}[a-zA-Z0-9]$", var.name))
    error_message = "name must be 2-28 characters of letters, digits and hyphens, not starting or ending with a hyphen."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the load balancer, its security group and target group live in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "public_subnet_ids" {
  description = "IDs of the public subnets (at least two AZs) the internet-facing load balancer is placed in."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An application load balancer needs subnets in at least two availability zones."
  }
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate served by the HTTPS listener (must cover the preview wildcard host names when the ALB serves previews)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "additional_certificate_arns" {
  description = "ARNs of further ACM certificates attached to the HTTPS listener (selected by SNI)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.additional_certificate_arns : can(regex("^arn:aws[a-z-]*:acm:", a))])
    error_message = "additional_certificate_arns must be ACM certificate ARNs."
  }
}

variable "ssl_policy" {
  description = "Security policy of the HTTPS listener: TLS 1.3 with TLS 1.2 as the floor by default."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = contains(["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04", "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04"], var.ssl_policy)
    error_message = "ssl_policy must be a TLS 1.3 policy whose minimum is TLS 1.2 or 1.3."
  }
}

variable "ingress_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach ports 443 and 80 (80 only redirects to 443). Restrict it for internal-only environments."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.ingress_cidrs) > 0 && alltrue([for c in var.ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "ingress_cidrs must be a non-empty list of valid IPv4 CIDR blocks."
  }
}

variable "create_access_logs_bucket" {
  description = "Create the S3 bucket receiving the ALB access logs (SSE-S3, versioned, no public access, TLS only, ELB log delivery policy, lifecycle expiry). false: pass an existing bucket as access_logs_bucket."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "Name of an existing S3 bucket receiving the ALB access logs; set it only with create_access_logs_bucket = false. The bucket must use SSE-S3 (ALB log delivery does not support SSE-KMS) and its policy must let logdelivery.elasticloadbalancing.amazonaws.com s3:PutObject under <prefix>/AWSLogs/<account id>/."
  type        = string
  default     = null

  validation {
    condition     = (var.access_logs_bucket == null) == var.create_access_logs_bucket && (var.access_logs_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket)))
    error_message = "Use exactly one access-log bucket: create_access_logs_bucket = true with access_logs_bucket = null, or create_access_logs_bucket = false with access_logs_bucket set to an S3 bucket name."
  }
}

variable "access_logs_bucket_name" {
  description = "Name of the access-log bucket the module creates (create_access_logs_bucket = true). Null: \"<lowercased name>-alb-logs-<account id>\"."
  type        = string
  default     = null

  validation {
    condition     = var.access_logs_bucket_name == null || (var.create_access_logs_bucket && can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket_name)))
    error_message = "access_logs_bucket_name must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens) and is only used with create_access_logs_bucket = true."
  }
}

variable "access_logs_prefix" {
  description = "Key prefix of the access logs in the bucket (no leading or trailing slash). Null uses the load balancer name."
  type        = string
  default     = null

  validation {
    condition     = var.access_logs_prefix == null || (can(regex("^[^/].*[^/]$", var.access_logs_prefix)) && !strcontains(coalesce(var.access_logs_prefix, "-"), "AWSLogs"))
    error_message = "access_logs_prefix must not start or end with a slash and must not contain AWSLogs (ELB appends AWSLogs/<account id>/ itself)."
  }
}

variable "access_logs_retention_days" {
  description = "Days the created access-log bucket keeps each ALB log file before the lifecycle rule expires it."
  type        = number
  default     = 365

  validation {
    condition     = var.access_logs_retention_days >= 1 && floor(var.access_logs_retention_days) == var.access_logs_retention_days
    error_message = "access_logs_retention_days must be a whole number of days, at least 1."
  }
}

variable "access_logs_noncurrent_version_expiration_days" {
  description = "Days the created access-log bucket keeps noncurrent (expired, overwritten or deleted) versions of log files before removing them for good."
  type        = number
  default     = 30

  validation {
    condition     = var.access_logs_noncurrent_version_expiration_days >= 1 && floor(var.access_logs_noncurrent_version_expiration_days) == var.access_logs_noncurrent_version_expiration_days
    error_message = "access_logs_noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "access_logs_force_destroy" {
  description = "Let terraform destroy delete the created access-log bucket with all its log files and versions (throw-away environments only)."
  type        = bool
  default     = false
}

variable "access_logs_legacy_elb_account_principal" {
  description = "Also allow the Region's Elastic Load Balancing account (data.aws_elb_service_account) in the created bucket's policy: the legacy policy AWS documented for Regions available before August 2022. AWS recommends the logdelivery.elasticloadbalancing.amazonaws.com service principal alone (always granted); the data source fails in Regions opened later."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Enable deletion protection on the load balancer (turn off only for throw-away environments)."
  type        = bool
  default     = true
}

variable "desync_mitigation_mode" {
  description = "How the ALB treats requests that may be HTTP desync attacks: monitor, defensive or strictest."
  type        = string
  default     = "strictest"

  validation {
    condition     = contains(["monitor", "defensive", "strictest"], var.desync_mitigation_mode)
    error_message = "desync_mitigation_mode must be monitor, defensive or strictest."
  }
}

variable "idle_timeout" {
  description = "Seconds a connection may stay idle (uploads of large evidence files need more than the default 60)."
  type        = number
  default     = 120

  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout <= 4000
    error_message = "idle_timeout must be between 1 and 4000 seconds."
  }
}

variable "create_target_group" {
  description = "Create the default target group (the environment's web service) and forward unmatched HTTPS requests to it. false: unmatched requests get a fixed 404 (the shared preview ALB, whose services bring their own target groups)."
  type        = bool
  default     = true
}

variable "target_port" {
  description = "Port the targets (web containers) listen on."
  type        = number
  default     = 8000

  validation {
    condition     = var.target_port >= 1 && var.target_port <= 65535
    error_message = "target_port must be a TCP port."
  }
}

variable "health_check" {
  description = "Health check of the default target group. The web container answers /healthz (liveness) without touching the database."
  type = object({
    path                = optional(string, "/healthz")
    matcher             = optional(string, "200")
    interval            = optional(number, 15)
    timeout             = optional(number, 5)
    healthy_threshold   = optional(number, 2)
    unhealthy_threshold = optional(number, 3)
  })
  default = {}

  validation {
    condition     = startswith(var.health_check.path, "/") && var.health_check.timeout < var.health_check.interval
    error_message = "health_check.path must start with / and health_check.timeout must be shorter than health_check.interval."
  }
}

variable "deregistration_delay" {
  description = "Seconds the target group drains a deregistering target before removing it (ECS sends SIGTERM only then). 300: the slowest upload supported, UPLOAD_MAX_BYTES (200 MiB) over a 6 Mbit/s uplink, about 280 s, finishes while a deploy replaces its task."
  type        = number
  default     = 300

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be between 0 and 3600 seconds."
  }
}

variable "host_rules" {
  description = "Extra HTTPS listener rules keyed by a short name: requests whose Host header matches host_headers are forwarded to target_group_arn (e.g. previews: pr-42 => host pr-42.preview.example.com). Priorities must be unique across the listener."
  type = map(object({
    priority         = number
    host_headers     = list(string)
    target_group_arn = string
  }))
  default = {}

  validation {
    condition     = alltrue([for r in values(var.host_rules) : r.priority >= 1 && r.priority <= 50000 && length(r.host_headers) > 0]) && length(distinct([for r in values(var.host_rules) : r.priority])) == length(var.host_rules)
    error_message = "Each host rule needs a unique priority between 1 and 50000 and at least one host header."
  }
}

variable "web_acl_arn" {
  description = "ARN of a WAFv2 web ACL (REGIONAL scope) to associate with the load balancer. Null: no WAF."
  type        = string
  default     = null

  validation {
    condition     = var.web_acl_arn == null || can(regex("^arn:aws[a-z-]*:wafv2:", var.web_acl_arn))
    error_message = "web_acl_arn must be a WAFv2 web ACL ARN."
  }
}

variable "attach_web_acl" {
  description = "Associate web_acl_arn with the load balancer (a flag, so the count is known while the web ACL's ARN is not)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags merged into every resource of the module."
  type        = map(string)
  default     = {}
}
