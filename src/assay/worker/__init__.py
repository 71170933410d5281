"""What runs inside a task: knows nothing of the database, only a spec and storage."""
