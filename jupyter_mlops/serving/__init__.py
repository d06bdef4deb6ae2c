"""Serving: a scoring server that follows its alias, batch scoring, and the monitoring
sample of what a served model saw and answered."""
