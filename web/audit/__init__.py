"""The audit log page (/audit): every event of the trail, filtered, for leads and admins."""
