# The web ACL prod puts in front of the app (alb.waf_enabled), planned against a mocked AWS
# provider: incident text and evidence uploads pass, the managed rules' text rules block
# everywhere else, and the rest of the managed rules block as AWS ships them; its logs redact
# credentials. One run: each plans the whole platform (~4 s of CPU).
mock_provider "aws" {
  source = "../../testing/aws"
}

variables {
  name = "incident-tracker-test"
  network = {
    cidr_block = "10.30.0.0/16"
    azs        = ["eu-west-1a", "eu-west-1b"]
  }
  alb = {
    certificate_arn = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
    ingress_cidrs   = ["0.0.0.0/0"]
    waf_enabled     = true
  }
  evidence = {
    bucket_name = "incident-tracker-test-evidence-111111111111"
  }

  # Rules that read the body or the query (AWS managed rules documentation), by group.
  common_text_rules = [
    "SizeRestrictions_BODY", "GenericLFI_BODY", "GenericRFI_BODY", "CrossSiteScripting_BODY", "EC2MetaDataSSRF_BODY",
    "GenericLFI_QUERYARGUMENTS", "GenericRFI_QUERYARGUMENTS", "CrossSiteScripting_QUERYARGUMENTS",
    "EC2MetaDataSSRF_QUERYARGUMENTS", "RestrictedExtensions_QUERYARGUMENTS",
  ]
  known_bad_inputs_text_rules = [
    "Log4JRCE_BODY", "JavaDeserializationRCE_BODY", "ReactJSRCE_BODY", "Log4JRCE_QUERYSTRING", "JavaDeserializationRCE_QUERYSTRING",
  ]
  # What evidence uploads and incident text are sent to; what never carries incident text.
  incident_paths = [
    "/incidents/INC-42/evidence", "/api/v1/incidents/INC-42/evidence", "/incidents/new", "/incidents/INC-42/edit",
    "/incidents/INC-42/comments", "/incidents/INC-42/transition", "/api/v1/incidents", "/api/v1/incidents/INC-42",
    "/api/v1/incidents/INC-42/comments", "/views",
  ]
  other_paths = [
    "/login", "/password/forgot", "/profile/password", "/admin/users", "/admin/webhooks", "/api/v1/users",
    "/api/v1/webhooks", "/incidentsX", "/viewsX", "/api/v1/incidentsX",
  ]
}

run "waf" {
  command = plan

  # The text rules count inside the groups (a request still gets their label), nothing else does.
  assert {
    condition = toset(flatten([
      for r in aws_wafv2_web_acl.this[0].rule : [
        for o in r.statement[0].managed_rule_group_statement[0].rule_action_override : o.name if length(o.action_to_use[0].count) == 1
      ] if r.name == "aws-common"
    ])) == toset(var.common_text_rules)
    error_message = "AWSManagedRulesCommonRuleSet must count exactly its body and query text rules"
  }

  assert {
    condition = toset(flatten([
      for r in aws_wafv2_web_acl.this[0].rule : [
        for o in r.statement[0].managed_rule_group_statement[0].rule_action_override : o.name if length(o.action_to_use[0].count) == 1
      ] if r.name == "aws-known-bad-inputs"
    ])) == toset(var.known_bad_inputs_text_rules)
    error_message = "AWSManagedRulesKnownBadInputsRuleSet must count exactly its body and query text rules (Log4JRCE_HEADER and _URIPATH keep blocking)"
  }

  assert {
    condition = alltrue([
      for r in aws_wafv2_web_acl.this[0].rule : length(r.override_action[0].none) == 1
      if contains(["aws-common", "aws-known-bad-inputs"], r.name)
    ])
    error_message = "the managed groups must keep their own (blocking) actions"
  }

  # After the groups: a request with a body rule's label is blocked outside the incident paths.
  assert {
    condition = anytrue([
      for r in aws_wafv2_web_acl.this[0].rule : (
        length(r.action[0].block) == 1 && r.priority > 20 &&
        toset([for s in r.statement[0].and_statement[0].statement[0].or_statement[0].statement : s.label_match_statement[0].key]) == toset([
          "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body",
          "awswaf:managed:aws:core-rule-set:GenericLFI_Body",
          "awswaf:managed:aws:core-rule-set:GenericRFI_Body",
          "awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body",
          "awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_Body",
          "awswaf:managed:aws:known-bad-inputs:Log4JRCE_Body",
          "awswaf:managed:aws:known-bad-inputs:JavaDeserializationRCE_Body",
          "awswaf:managed:aws:known-bad-inputs:ReactJSRCE_Body",
        ]) &&
        alltrue([for p in var.incident_paths : can(regex(r.statement[0].and_statement[0].statement[1].not_statement[0].statement[0].regex_match_statement[0].regex_string, p))]) &&
        !anytrue([for p in concat(var.other_paths, ["/"]) : can(regex(r.statement[0].and_statement[0].statement[1].not_statement[0].statement[0].regex_match_statement[0].regex_string, p))])
      ) if r.name == "text-rules-outside-incidents-body"
    ])
    error_message = "body text rules must block by label everywhere but the incident paths (evidence uploads, incident text)"
  }

  # ... and one with a query rule's label, everywhere but the incident paths, the dashboard's
  # search and /login (its `next` carries a shared search).
  assert {
    condition = anytrue([
      for r in aws_wafv2_web_acl.this[0].rule : (
        length(r.action[0].block) == 1 && r.priority > 20 &&
        toset([for s in r.statement[0].and_statement[0].statement[0].or_statement[0].statement : s.label_match_statement[0].key]) == toset([
          "awswaf:managed:aws:core-rule-set:GenericLFI_QueryArguments",
          "awswaf:managed:aws:core-rule-set:GenericRFI_QueryArguments",
          "awswaf:managed:aws:core-rule-set:CrossSiteScripting_QueryArguments",
          "awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_QueryArguments",
          "awswaf:managed:aws:core-rule-set:RestrictedExtensions_QueryArguments",
          "awswaf:managed:aws:known-bad-inputs:Log4JRCE_QueryString",
          "awswaf:managed:aws:known-bad-inputs:JavaDeserializationRCE_QueryString",
        ]) &&
        alltrue([for p in concat(var.incident_paths, ["/", "/login", "/incidents.csv"]) : can(regex(r.statement[0].and_statement[0].statement[1].not_statement[0].statement[0].regex_match_statement[0].regex_string, p))]) &&
        !anytrue([for p in setsubtract(var.other_paths, ["/login"]) : can(regex(r.statement[0].and_statement[0].statement[1].not_statement[0].statement[0].regex_match_statement[0].regex_string, p))])
      ) if r.name == "text-rules-outside-incidents-query"
    ])
    error_message = "query text rules must block by label everywhere but the incident paths, / and /login"
  }

  assert {
    condition     = anytrue([for r in aws_wafv2_web_acl.this[0].rule : length(r.action[0].block) == 1 if r.name == "login-rate-limit"])
    error_message = "the per-IP rate limit on /login must block"
  }

  # WAF logs keep every request's headers and query for log_retention_days (365 in prod): the API
  # tokens (Authorization), the session cookie and anything in a query string must not be in them.
  assert {
    condition = toset(flatten([
      for f in aws_wafv2_web_acl_logging_configuration.this[0].redacted_fields : [for h in f.single_header : lower(h.name)]
    ])) == toset(["authorization", "cookie"])
    error_message = "WAF logs must redact the authorization and cookie headers"
  }

  assert {
    condition     = anytrue([for f in aws_wafv2_web_acl_logging_configuration.this[0].redacted_fields : length(f.query_string) == 1])
    error_message = "WAF logs must redact the query string (one-time tokens)"
  }
}
