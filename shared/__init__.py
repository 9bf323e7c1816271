"""Incident Tracker domain core: used by web/ and worker/, imports neither."""
