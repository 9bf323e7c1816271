data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_vpc" "this" {
  count = var.create ? 1 : 0

  id = var.vpc_id
}

# Latest Amazon Linux 2023 AMI, published by AWS as a public SSM parameter.
data "aws_ssm_parameter" "ami" {
  count = var.create ? 1 : 0

  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${var.architecture}"
}

################################################################################
# IAM: Session Manager only
################################################################################

data "aws_iam_policy_document" "assume" {
  count = var.create ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.create ? 1 : 0

  name                 = var.name
  description          = "Bastion ${var.name}: SSM Session Manager only"
  assume_role_policy   = data.aws_iam_policy_document.assume[0].json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "ssm" {
  count = var.create ? 1 : 0

  role       = aws_iam_role.this[0].name
  policy_arn = "arn:${data.aws_partition.current[0].partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "this" {
  count = var.create ? 1 : 0

  name = var.name
  role = aws_iam_role.this[0].name

  tags = var.tags
}

################################################################################
# Security group: no ingress at all; egress HTTPS (SSM) and the database port in the VPC
################################################################################

resource "aws_security_group" "this" {
  count = var.create ? 1 : 0

  name_prefix = "${var.name}-"
  description = "Bastion ${var.name}: no ingress (Session Manager), egress HTTPS and database only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "https" {
  count = var.create ? 1 : 0

  security_group_id = aws_security_group.this[0].id
  description       = "HTTPS to the SSM endpoints and package repositories"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "database" {
  count = var.create ? 1 : 0

  security_group_id = aws_security_group.this[0].id
  description       = "Database (RDS) inside the VPC"
  ip_protocol       = "tcp"
  from_port         = var.db_port
  to_port           = var.db_port
  cidr_ipv4         = data.aws_vpc.this[0].cidr_block

  tags = var.tags
}

################################################################################
# Instance
################################################################################

resource "aws_instance" "this" {
  count = var.create ? 1 : 0

  ami                         = data.aws_ssm_parameter.ami[0].insecure_value
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.this[0].id]
  iam_instance_profile        = aws_iam_instance_profile.this[0].name
  associate_public_ip_address = false
  monitoring                  = true
  ebs_optimized               = true

  # PostgreSQL client for admin work; access itself is through Session Manager only.
  user_data = <<-EOT
    #!/bin/bash
    set -euo pipefail
    dnf install -y postgresql16
  EOT

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    kms_key_id            = var.kms_key_arn
    delete_on_termination = true
  }

  tags        = merge(var.tags, { Name = var.name })
  volume_tags = merge(var.tags, { Name = var.name })
}
