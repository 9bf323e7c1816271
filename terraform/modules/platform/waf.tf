################################################################################
# WAF (alb.waf_enabled, prod): AWS managed rules and a per-IP rate limit on /login
################################################################################

locals {
  # Managed rules that read what people write, in the body or the query: they match exactly
  # what a DevOps incident is made of. Evidence uploads stream through the app
  # (POST /incidents/<key>/evidence, /api/v1/incidents/<key>/evidence: multipart bodies far over
  # the 8 KB SizeRestrictions_BODY allows), and descriptions, comments, reasons and searches
  # quote logs and payloads (`../../etc/passwd`, `<script>`, `${jndi:ldap://...}`,
  # `http://169.254.169.254/`, `app.log`). Inside the managed groups these rules only count
  # (and label the request); the rules after the groups block a labelled request anywhere but
  # where incident text travels. There the app is the guard: it validates every input, escapes
  # all output (autoescaped templates, a strict Content-Security-Policy), binds SQL parameters,
  # never opens a path a user wrote, fetches only webhook URLs (through its own SSRF policy),
  # and scans and type-checks every file. Rules on headers, cookies and the URI path, bad bots
  # and the query and cookie size limits block everywhere, as the groups ship them.
  # Rule name => the part of the request it reads and the label it adds (AWS managed rules
  # documentation, "Baseline rule groups").
  waf_text_rules = {
    AWSManagedRulesCommonRuleSet = {
      SizeRestrictions_BODY               = { part = "body", label = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body" }
      GenericLFI_BODY                     = { part = "body", label = "awswaf:managed:aws:core-rule-set:GenericLFI_Body" }
      GenericRFI_BODY                     = { part = "body", label = "awswaf:managed:aws:core-rule-set:GenericRFI_Body" }
      CrossSiteScripting_BODY             = { part = "body", label = "awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body" }
      EC2MetaDataSSRF_BODY                = { part = "body", label = "awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_Body" }
      GenericLFI_QUERYARGUMENTS           = { part = "query", label = "awswaf:managed:aws:core-rule-set:GenericLFI_QueryArguments" }
      GenericRFI_QUERYARGUMENTS           = { part = "query", label = "awswaf:managed:aws:core-rule-set:GenericRFI_QueryArguments" }
      CrossSiteScripting_QUERYARGUMENTS   = { part = "query", label = "awswaf:managed:aws:core-rule-set:CrossSiteScripting_QueryArguments" }
      EC2MetaDataSSRF_QUERYARGUMENTS      = { part = "query", label = "awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_QueryArguments" }
      RestrictedExtensions_QUERYARGUMENTS = { part = "query", label = "awswaf:managed:aws:core-rule-set:RestrictedExtensions_QueryArguments" }
    }
    AWSManagedRulesKnownBadInputsRuleSet = {
      Log4JRCE_BODY                      = { part = "body", label = "awswaf:managed:aws:known-bad-inputs:Log4JRCE_Body" }
      JavaDeserializationRCE_BODY        = { part = "body", label = "awswaf:managed:aws:known-bad-inputs:JavaDeserializationRCE_Body" }
      ReactJSRCE_BODY                    = { part = "body", label = "awswaf:managed:aws:known-bad-inputs:ReactJSRCE_Body" }
      Log4JRCE_QUERYSTRING               = { part = "query", label = "awswaf:managed:aws:known-bad-inputs:Log4JRCE_QueryString" }
      JavaDeserializationRCE_QUERYSTRING = { part = "query", label = "awswaf:managed:aws:known-bad-inputs:JavaDeserializationRCE_QueryString" }
    }
  }

  # Where incident text travels, as URI path patterns (Flask routes: no path normalisation, and
  # GenericLFI_URIPATH still blocks `../` in a path). Bodies: the incident pages and API (new
  # incident, edits, comments, transitions with their reasons, evidence uploads) and saved
  # views (their search text). Queries: the same, plus the dashboard's search (`/?q=`) and
  # /login, whose `next` carries the search of a shared link to someone not signed in.
  waf_text_blocks = {
    body = {
      priority = 30
      paths    = "^/(incidents|api/v1/incidents|views)([/.]|$)"
    }
    query = {
      priority = 31
      paths    = "^/((incidents|api/v1/incidents|views)([/.]|$)|login$|$)"
    }
  }
}

resource "aws_wafv2_web_acl" "this" {
  count = var.alb.waf_enabled ? 1 : 0

  name        = var.name
  description = "${var.name}: AWS managed rules, rate limit on /login"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "login-rate-limit"
    priority = 0

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit                 = var.alb.login_rate_limit
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"

        scope_down_statement {
          byte_match_statement {
            search_string         = "/login"
            positional_constraint = "STARTS_WITH"

            field_to_match {
              uri_path {}
            }

            text_transformation {
              priority = 0
              type     = "LOWERCASE"
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-login-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-common"
    priority = 10

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"

        # Count, not block: the text rules (locals above), blocked by label in rule 30/31.
        dynamic "rule_action_override" {
          for_each = local.waf_text_rules.AWSManagedRulesCommonRuleSet
          content {
            name = rule_action_override.key
            action_to_use {
              count {}
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 20

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"

        # Count, not block: the text rules (locals above), blocked by label in rule 30/31.
        # Log4JRCE_HEADER and _URIPATH and the other rules still block everywhere.
        dynamic "rule_action_override" {
          for_each = local.waf_text_rules.AWSManagedRulesKnownBadInputsRuleSet
          content {
            name = rule_action_override.key
            action_to_use {
              count {}
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  # The text rules the groups only counted, blocking again wherever no incident text travels
  # (sign-in forms, profile, admin, webhooks and users API, ...): one rule for bodies, one for
  # queries, each "any of their labels, and a path outside local.waf_text_blocks".
  dynamic "rule" {
    for_each = local.waf_text_blocks
    content {
      name     = "text-rules-outside-incidents-${rule.key}"
      priority = rule.value.priority

      action {
        block {}
      }

      statement {
        and_statement {
          statement {
            or_statement {
              dynamic "statement" {
                for_each = sort(flatten([
                  for group in values(local.waf_text_rules) : [for r in values(group) : r.label if r.part == rule.key]
                ]))
                content {
                  label_match_statement {
                    scope = "LABEL"
                    key   = statement.value
                  }
                }
              }
            }
          }

          statement {
            not_statement {
              statement {
                regex_match_statement {
                  regex_string = rule.value.paths

                  field_to_match {
                    uri_path {}
                  }

                  text_transformation {
                    priority = 0
                    type     = "NONE"
                  }
                }
              }
            }
          }
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-text-rules-outside-incidents-${rule.key}"
        sampled_requests_enabled   = true
      }
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

# WAF logs need a log group named aws-waf-logs-*.
resource "aws_cloudwatch_log_group" "waf" {
  count = var.alb.waf_enabled ? 1 : 0

  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn

  tags = var.tags
}

# WAF logs every request's headers and URI: the Authorization header carries API tokens, the
# Cookie header the session, and the query string could carry a one-time token. They are kept
# log_retention_days (365 in prod), so these three are redacted (logged as "REDACTED").
resource "aws_wafv2_web_acl_logging_configuration" "this" {
  count = var.alb.waf_enabled ? 1 : 0

  resource_arn            = aws_wafv2_web_acl.this[0].arn
  log_destination_configs = [aws_cloudwatch_log_group.waf[0].arn]

  redacted_fields {
    single_header {
      name = "authorization"
    }
  }

  redacted_fields {
    single_header {
      name = "cookie"
    }
  }

  redacted_fields {
    query_string {}
  }
}
