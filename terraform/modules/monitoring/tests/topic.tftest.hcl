# Where alarms go, planned against a mocked AWS provider: besides e-mail, an on-call service's
# HTTPS endpoint (its URL from Secrets Manager), and the database's own events (failover,
# failure, storage) on the same topic, which RDS and ElastiCache may publish to.
mock_provider "aws" {
  source = "../../testing/aws"
}

override_data {
  target = data.aws_secretsmanager_secret_version.alarm_https_endpoint[0]
  values = {
    secret_string = "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"
  }
}

# The topic's ARN, known at plan here (AWS assigns it at apply).
override_resource {
  target          = aws_sns_topic.this
  override_during = plan
  values = {
    arn = "arn:aws:sns:eu-west-1:111111111111:incident-tracker-test-alarms"
  }
}

variables {
  name                            = "incident-tracker-test"
  alarm_email                     = "oncall@example.com"
  alarm_https_endpoint_secret_arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:incident-tracker/test/pagerduty-AbCdEf"
  rds_instance_id                 = "incident-tracker-test"
  redis_replication_group_id      = "incident-tracker-test"
}

run "alarms_reach_the_on_call_service" {
  command = plan

  assert {
    condition     = aws_sns_topic_subscription.https[0].protocol == "https" && aws_sns_topic_subscription.https[0].endpoint == "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"
    error_message = "the alarm topic must deliver to the HTTPS endpoint held in alarm_https_endpoint_secret_arn"
  }

  assert {
    condition     = aws_sns_topic_subscription.email[0].endpoint == var.alarm_email
    error_message = "the e-mail subscription stays beside the HTTPS one"
  }

  assert {
    condition = (
      aws_db_event_subscription.this[0].sns_topic == aws_sns_topic.this.arn &&
      aws_db_event_subscription.this[0].source_ids == toset([var.rds_instance_id]) &&
      length(setsubtract(["failover", "failure", "low storage"], aws_db_event_subscription.this[0].event_categories)) == 0
    )
    error_message = "the database's failover, failure and low-storage events must go to the alarm topic"
  }

  # RDS (a service principal) and ElastiCache (aws:SourceOwner) may publish to the topic.
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.topic.statement : anytrue([for p in s.principals : contains(p.identifiers, "events.rds.amazonaws.com")]) && contains(s.actions, "sns:Publish")
      ]) && anytrue([
      for s in data.aws_iam_policy_document.topic.statement : anytrue([for c in s.condition : c.variable == "aws:SourceOwner"]) && contains(s.actions, "sns:Publish")
    ])
    error_message = "the topic policy must let RDS event subscriptions and ElastiCache notifications publish"
  }
}

run "email_only_without_the_secret" {
  command = plan

  variables {
    alarm_https_endpoint_secret_arn = null
  }

  assert {
    condition     = length(aws_sns_topic_subscription.https) == 0
    error_message = "no HTTPS subscription without alarm_https_endpoint_secret_arn"
  }
}
