"""Outbound work: the outbox runner and the performers of each kind of job."""
