data "aws_vpc" "this" {
  id = var.vpc_id
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  target_group_name = "${var.name}-web"

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Access logs go to the bucket created below (create_access_logs_bucket) or to an existing one.
  access_logs_bucket_name = var.create_access_logs_bucket ? coalesce(var.access_logs_bucket_name, "${lower(var.name)}-alb-logs-${local.account_id}") : var.access_logs_bucket
  access_logs_bucket_id   = var.create_access_logs_bucket ? aws_s3_bucket.access_logs[0].id : var.access_logs_bucket
  access_logs_bucket_arn  = var.create_access_logs_bucket ? aws_s3_bucket.access_logs[0].arn : "arn:${local.partition}:s3:::${var.access_logs_bucket}"
  access_logs_prefix      = coalesce(var.access_logs_prefix, var.name)
}

################################################################################
# Security group: 443 and 80 from ingress_cidrs, egress only to the targets' port in the VPC
################################################################################

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-alb-"
  description = "ALB ${var.name}: HTTPS/HTTP in from allowed CIDRs, out to targets in the VPC"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  for_each = toset(var.ingress_cidrs)

  security_group_id = aws_security_group.this.id
  description       = "HTTPS from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "http" {
  #checkov:skip=CKV_AWS_260:Port 80 only answers with a 301 redirect to HTTPS (see aws_lb_listener.http); it never forwards to a target.
  for_each = toset(var.ingress_cidrs)

  security_group_id = aws_security_group.this.id
  description       = "HTTP from ${each.value} (redirected to HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "targets" {
  security_group_id = aws_security_group.this.id
  description       = "To targets (web containers) in the VPC"
  ip_protocol       = "tcp"
  from_port         = var.target_port
  to_port           = var.target_port
  cidr_ipv4         = data.aws_vpc.this.cidr_block

  tags = var.tags
}

################################################################################
# Access-log bucket (create_access_logs_bucket): SSE-S3 because ALB log delivery does not
# support SSE-KMS; ACLs disabled; versioned; expires after access_logs_retention_days.
################################################################################

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This bucket is the ALB access-log target; logging it into itself would loop and logging it elsewhere needs a third bucket. Bucket configuration changes are CloudTrail management events; object reads and writes are not recorded (no S3 data events for this bucket).
  #checkov:skip=CKV_AWS_145:ALB access log delivery supports only SSE-S3 (AES256) on the target bucket, not SSE-KMS.
  #checkov:skip=CKV_AWS_144:ALB access logs are operational data kept access_logs_retention_days in the Region of the load balancer; a replica in a second Region (bucket, IAM role, provider alias) is not worth its cost for them.
  count = var.create_access_logs_bucket ? 1 : 0

  bucket        = local.access_logs_bucket_name
  force_destroy = var.access_logs_force_destroy

  tags = merge(var.tags, { Name = local.access_logs_bucket_name })
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  count = var.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  count = var.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  count = var.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  count = var.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  count = var.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_logs_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.access_logs_noncurrent_version_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

# New log files as EventBridge events (default bus): the hook AWS suggests for log-delivery
# notifications (e.g. a SIEM loader); nothing consumes them until a rule is added.
resource "aws_s3_bucket_notification" "access_logs" {
  count = var.create_access_logs_bucket ? 1 : 0

  bucket      = aws_s3_bucket.access_logs[0].id
  eventbridge = true
}

# Legacy principal (opt-in): the Elastic Load Balancing account of the Region, which AWS
# documented for Regions available before August 2022. The data source fails in newer Regions.
data "aws_elb_service_account" "this" {
  count = var.create_access_logs_bucket && var.access_logs_legacy_elb_account_principal ? 1 : 0
}

data "aws_iam_policy_document" "access_logs" {
  count = var.create_access_logs_bucket ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs[0].arn, "${aws_s3_bucket.access_logs[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # AWS's documented ALB access-log policy: the ELB log delivery service may put objects under
  # <prefix>/AWSLogs/<this account>/ only.
  statement {
    sid       = "AllowELBLogDelivery"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs[0].arn}/${local.access_logs_prefix}/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = data.aws_elb_service_account.this

    content {
      sid       = "AllowLegacyELBAccountLogDelivery"
      effect    = "Allow"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.access_logs[0].arn}/${local.access_logs_prefix}/AWSLogs/${local.account_id}/*"]

      principals {
        type        = "AWS"
        identifiers = [statement.value.arn]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  count = var.create_access_logs_bucket ? 1 : 0

  bucket = aws_s3_bucket.access_logs[0].id
  policy = data.aws_iam_policy_document.access_logs[0].json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

################################################################################
# Load balancer
################################################################################

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:WAF is attached through attach_web_acl/web_acl_arn (aws_wafv2_web_acl_association.this); the platform module creates the web ACL (rate limit on /login, AWS managed rules) and attaches it in prod; dev, staging and the preview base are limited to alb.ingress_cidrs instead.
  #checkov:skip=CKV2_AWS_76:The web ACL the platform module attaches in prod carries AWSManagedRulesKnownBadInputsRuleSet (the Log4j rules); dev, staging and previews have no web ACL and are limited to alb.ingress_cidrs; the app is Python, not Java.
  name               = var.name
  internal           = false
  load_balancer_type = "application"
  security_groups    = [aws_security_group.this.id]
  subnets            = var.public_subnet_ids
  ip_address_type    = "ipv4"

  drop_invalid_header_fields = true
  desync_mitigation_mode     = var.desync_mitigation_mode
  enable_deletion_protection = var.deletion_protection
  enable_http2               = true
  idle_timeout               = var.idle_timeout

  access_logs {
    bucket  = local.access_logs_bucket_id
    prefix  = local.access_logs_prefix
    enabled = true
  }

  tags = merge(var.tags, { Name = var.name })

  # Enabling access logs makes ELB write a test object: the bucket policy must exist first.
  depends_on = [
    aws_s3_bucket_policy.access_logs,
    aws_s3_bucket_server_side_encryption_configuration.access_logs,
    aws_s3_bucket_ownership_controls.access_logs,
  ]
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.attach_web_acl ? 1 : 0

  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.web_acl_arn
}

################################################################################
# Default target group (web service, ip targets on Fargate)
################################################################################

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS terminates at the ALB; targets are Fargate tasks in private subnets reachable only from the ALB security group, and gunicorn serves plain HTTP.
  count = var.create_target_group ? 1 : 0

  name                 = local.target_group_name
  vpc_id               = var.vpc_id
  target_type          = "ip"
  port                 = var.target_port
  protocol             = "HTTP"
  protocol_version     = "HTTP1"
  deregistration_delay = var.deregistration_delay

  health_check {
    enabled             = true
    path                = var.health_check.path
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = var.health_check.matcher
    interval            = var.health_check.interval
    timeout             = var.health_check.timeout
    healthy_threshold   = var.health_check.healthy_threshold
    unhealthy_threshold = var.health_check.unhealthy_threshold
  }

  tags = merge(var.tags, { Name = local.target_group_name })
}

################################################################################
# Listeners
################################################################################

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  dynamic "default_action" {
    for_each = var.create_target_group ? [1] : []

    content {
      type             = "forward"
      target_group_arn = aws_lb_target_group.this[0].arn
    }
  }

  dynamic "default_action" {
    for_each = var.create_target_group ? [] : [1]

    content {
      type = "fixed-response"

      fixed_response {
        content_type = "text/plain"
        message_body = "Not found"
        status_code  = "404"
      }
    }
  }

  tags = var.tags
}

resource "aws_lb_listener_certificate" "additional" {
  for_each = toset(var.additional_certificate_arns)

  listener_arn    = aws_lb_listener.https.arn
  certificate_arn = each.value
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:This listener only redirects to HTTPS (HTTP_301); no request is forwarded over plain HTTP.
  #checkov:skip=CKV_AWS_103:TLS policy does not apply to the plain-HTTP redirect listener; the HTTPS listener uses var.ssl_policy (TLS 1.2+).
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

resource "aws_lb_listener_rule" "host" {
  for_each = var.host_rules

  listener_arn = aws_lb_listener.https.arn
  priority     = each.value.priority

  action {
    type             = "forward"
    target_group_arn = each.value.target_group_arn
  }

  condition {
    host_header {
      values = each.value.host_headers
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}
