variable "name" {
  description = "Name prefix for every resource of the network (e.g. \"incident-tracker-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,46}[a-z0-9]$", var.name))
    error_message = "name must be 3-48 characters of lowercase letters, digits and hyphens."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC (a /16 to /20)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) ? (tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 20) : false
    error_message = "cidr_block must be a valid IPv4 CIDR with a prefix length between /16 and /20."
  }
}

variable "azs" {
  description = "Availability zones to spread the subnets over (2 or 3), e.g. [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 3 && length(distinct(var.azs)) == length(var.azs)
    error_message = "azs must list 2 or 3 distinct availability zones."
  }
}

variable "public_subnet_cidrs" {
  description = "CIDR of each public subnet, one per AZ in the order of azs. Null derives /24 subnets from cidr_block (the first n /24s)."
  type        = list(string)
  default     = null

  validation {
    condition     = var.public_subnet_cidrs == null ? true : (length(var.public_subnet_cidrs) == length(var.azs) && alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0))]))
    error_message = "public_subnet_cidrs must hold one valid IPv4 CIDR block per AZ in azs."
  }
}

variable "private_subnet_cidrs" {
  description = "CIDR of each private subnet, one per AZ in the order of azs. Null derives /22 subnets from cidr_block (the 2nd to (n+1)th /22)."
  type        = list(string)
  default     = null

  validation {
    condition     = var.private_subnet_cidrs == null ? true : (length(var.private_subnet_cidrs) == length(var.azs) && alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))]))
    error_message = "private_subnet_cidrs must hold one valid IPv4 CIDR block per AZ in azs."
  }
}

variable "single_nat_gateway" {
  description = "true: one NAT gateway shared by all private subnets (cheap, single-AZ egress: for dev/preview). false: one NAT gateway per AZ (highly available: for staging/prod)."
  type        = bool
  default     = false
}

variable "flow_logs_traffic_type" {
  description = "Traffic captured by the VPC flow log: ACCEPT, REJECT or ALL."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_logs_traffic_type)
    error_message = "flow_logs_traffic_type must be ACCEPT, REJECT or ALL."
  }
}

variable "flow_logs_retention_days" {
  description = "Retention of the flow log CloudWatch log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_logs_retention_days)
    error_message = "flow_logs_retention_days must be one of the retention values CloudWatch Logs accepts."
  }
}

variable "flow_logs_kms_key_arn" {
  description = "ARN of an existing KMS key that encrypts the flow log group (its policy must allow logs.REGION.amazonaws.com). Null creates a dedicated key with rotation."
  type        = string
  default     = null

  validation {
    condition     = var.flow_logs_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.flow_logs_kms_key_arn))
    error_message = "flow_logs_kms_key_arn must be a KMS key ARN."
  }
}

variable "flow_logs_max_aggregation_interval" {
  description = "Maximum interval, in seconds, during which a flow of packets is captured into a flow log record: 60 or 600."
  type        = number
  default     = 600

  validation {
    condition     = contains([60, 600], var.flow_logs_max_aggregation_interval)
    error_message = "flow_logs_max_aggregation_interval must be 60 or 600."
  }
}

variable "s3_gateway_endpoint" {
  description = "Create an S3 gateway VPC endpoint on the private route tables (S3 traffic skips the NAT gateway)."
  type        = bool
  default     = true
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the IAM role this module creates (the deploy roles may only create roles that carry it). Null: none."
  type        = string
  default     = null
}

variable "create_flow_logs_kms_key" {
  description = "Create the module's own KMS key for the flow log group. false: pass flow_logs_kms_key_arn (a flag, not a null test on the ARN, so the count is known when the ARN is not)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags merged into every resource of the module."
  type        = map(string)
  default     = {}
}
