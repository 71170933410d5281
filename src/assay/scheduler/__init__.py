"""Queue, claims, state changes, timeouts and recovery of job versions."""
