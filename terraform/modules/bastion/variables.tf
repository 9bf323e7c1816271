variable "create" {
  description = "Create the bastion. false (default) creates nothing; turn it on only while admin access to RDS is needed."
  type        = bool
  default     = false
}

variable "name" {
  description = "Name of the bastion instance and prefix of its role, instance profile and security group (e.g. \"incident-tracker-prod-bastion\")."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,50}$", var.name))
    error_message = "name must be 1-51 letters, digits or hyphens."
  }
}

variable "vpc_id" {
  description = "ID of the VPC (its CIDR is the destination of the database egress rule)."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "subnet_id" {
  description = "ID of the private subnet the instance runs in (it needs a route to the SSM endpoints: NAT or VPC endpoints)."
  type        = string

  validation {
    condition     = can(regex("^subnet-[0-9a-f]+$", var.subnet_id))
    error_message = "subnet_id must look like subnet-0123abcd."
  }
}

variable "instance_type" {
  description = "EC2 instance type; must match architecture (Graviton types such as t4g.* for arm64)."
  type        = string
  default     = "t4g.nano"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like t4g.nano."
  }
}

variable "architecture" {
  description = "CPU architecture of the Amazon Linux 2023 AMI: arm64 (Graviton instance types) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture) && (var.architecture == "arm64") == can(regex("^[a-z]+[0-9]+g[a-z]*\\.", var.instance_type))
    error_message = "architecture must be arm64 or x86_64 and match instance_type (arm64 for Graviton types such as t4g.nano, x86_64 otherwise)."
  }
}

variable "root_volume_size" {
  description = "Size of the encrypted gp3 root volume in GiB (the AL2023 AMI needs at least 8)."
  type        = number
  default     = 8

  validation {
    condition     = var.root_volume_size >= 8 && var.root_volume_size <= 100
    error_message = "root_volume_size must be between 8 and 100 GiB."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the root volume. Null uses the account's default EBS key (aws/ebs); the volume is encrypted either way."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "db_port" {
  description = "Port of the database the bastion forwards to (egress allowed only to the VPC CIDR on this port)."
  type        = number
  default     = 5432

  validation {
    condition     = var.db_port >= 1 && var.db_port <= 65535
    error_message = "db_port must be a TCP port."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the IAM role this module creates (the deploy roles may only create roles that carry it). Null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags merged into every resource of the module."
  type        = map(string)
  default     = {}
}
