"""Notifications without the database: SSRF guard (ssrf), signed webhooks (webhooks), email
messages and sending (email), who is emailed (rules). The worker and admin pages call these."""
