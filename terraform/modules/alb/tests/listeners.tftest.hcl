mock_provider "aws" {
  source = "../../testing/aws"
}

variables {
  name              = "incident-tracker-test"
  vpc_id            = "vpc-0123456789abcdef0"
  public_subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  certificate_arn   = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
  ingress_cidrs     = ["203.0.113.0/24"]
}

run "http_only_redirects" {
  command = plan

  assert {
    condition     = length(aws_lb_listener.http.default_action) == 1 && aws_lb_listener.http.default_action[0].type == "redirect"
    error_message = "the HTTP listener may only redirect"
  }

  assert {
    condition     = aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS" && aws_lb_listener.http.default_action[0].redirect[0].status_code == "HTTP_301"
    error_message = "the HTTP listener must answer 301 to HTTPS"
  }

  assert {
    condition     = aws_lb_listener.https.protocol == "HTTPS" && startswith(aws_lb_listener.https.ssl_policy, "ELBSecurityPolicy-TLS13")
    error_message = "the HTTPS listener must use a TLS 1.2+/1.3 policy"
  }

  assert {
    condition     = aws_lb.this.drop_invalid_header_fields
    error_message = "the load balancer must drop invalid header fields"
  }
}
