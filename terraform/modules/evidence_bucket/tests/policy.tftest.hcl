# The bucket policy's promises, checked on the planned policy document's statements (its JSON
# is mocked; the statements are this module's own configuration).
mock_provider "aws" {
  source = "../../testing/aws"
}

variables {
  bucket_name     = "incident-tracker-test-evidence-111111111111"
  web_role_arn    = "arn:aws:iam::111111111111:role/incident-tracker-test-web-task"
  worker_role_arn = "arn:aws:iam::111111111111:role/incident-tracker-test-worker-task"
}

run "policy" {
  command = plan

  # Reads of evidence/thumbnails are denied unless the object is tagged clean (or not-scanned).
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.bucket.statement : s.effect == "Deny" && contains(s.actions, "s3:GetObject") && anytrue([
        for c in s.condition : c.test == "StringNotEquals" && c.variable == "s3:ExistingObjectTag/scan-status" && toset(c.values) == toset(["clean", "not-scanned"])
      ])
    ])
    error_message = "the bucket policy must deny s3:GetObject of objects not tagged scan-status=clean|not-scanned"
  }

  # Only the worker role may write tags: every statement denying tagging excepts exactly it.
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.bucket.statement : s.effect == "Deny" && anytrue([
        for c in s.condition : c.variable == "aws:PrincipalArn" && c.test == "ArnNotLike" && toset(c.values) == toset([var.worker_role_arn])
      ]) if contains(s.actions, "s3:PutObjectTagging")
    ]) && length([for s in data.aws_iam_policy_document.bucket.statement : s if contains(s.actions, "s3:PutObjectTagging")]) > 0
    error_message = "s3:PutObjectTagging must be denied to everyone but the worker role"
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.bucket.statement : s.effect == "Deny" && contains(s.actions, "s3:BypassGovernanceRetention")])
    error_message = "nobody may bypass an Object Lock GOVERNANCE retention"
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.bucket.statement : s.effect == "Deny" && s.sid == "DenyInsecureTransport"])
    error_message = "the bucket must deny plain-HTTP requests"
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.this.block_public_policy && aws_s3_bucket_public_access_block.this.restrict_public_buckets
    error_message = "the evidence bucket must block public access"
  }
}
