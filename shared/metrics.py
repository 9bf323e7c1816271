"""CloudWatch metric contract: the worker publishes these through embedded-metric-format
(EMF) log lines on stdout; terraform/modules/ecs_service (queue-depth autoscaling) and
terraform/modules/monitoring (alarms) read the same names.
"""

METRIC_NAMESPACE = "IncidentTracker"
# Every metric below carries both dimensions (Environment and Queue); alarms and autoscaling
# policies select on both.
DIMENSION_ENVIRONMENT = "Environment"  # e.g. "prod", "staging", "pr-42"
DIMENSION_QUEUE = "Queue"  # Celery queue name
DEFAULT_QUEUE = "celery"

METRIC_QUEUE_DEPTH = "QueueDepth"  # messages waiting in the queue (Count)
METRIC_OLDEST_MESSAGE_AGE = "OldestMessageAgeSeconds"  # age of the oldest waiting message (Seconds)
METRIC_TASK_FAILURES = "TaskFailures"  # tasks that failed after their last retry (Count)

# Message header every publisher sets to the publish time (Unix seconds, float): the beat
# derives OldestMessageAgeSeconds from it (Redis keeps no enqueue time of its own).
HEADER_PUBLISHED_AT = "published_at"
