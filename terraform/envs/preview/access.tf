# The shared preview database and Redis were created before this preview's task security
# groups existed, so the preview opens its own way in: one ingress rule per service, destroyed
# with the preview. (These two rules are the only resources outside a module in the env roots:
# the rds/redis modules take allowed security groups at creation only.)

resource "aws_vpc_security_group_ingress_rule" "database" {
  for_each = {
    web    = module.web.security_group_id
    worker = module.worker.security_group_id
  }

  security_group_id            = local.base.database_security_group_id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = local.base.database_port
  to_port                      = local.base.database_port
  description                  = "PostgreSQL from ${local.id} ${each.key} tasks"
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  for_each = {
    web    = module.web.security_group_id
    worker = module.worker.security_group_id
  }

  security_group_id            = local.base.redis_security_group_id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  description                  = "Redis (TLS) from ${local.id} ${each.key} tasks"
}
