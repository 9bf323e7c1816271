data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  target_group_name = "${var.name}-web"
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
# Load balancer
################################################################################

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:WAF is optional and attached through var.web_acl_arn (aws_wafv2_web_acl_association.this); the web ACL itself is managed outside this module.
  #checkov:skip=CKV2_AWS_76:The Log4j managed rule set belongs to the optional web ACL passed as var.web_acl_arn, which is managed (and checked) outside this module; the app is Python, not Java.
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
    bucket  = var.access_logs_bucket
    prefix  = coalesce(var.access_logs_prefix, var.name)
    enabled = true
  }

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.web_acl_arn != null ? 1 : 0

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
