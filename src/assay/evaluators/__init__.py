"""Built-in evaluators: one module per task type, registered by name in ``registry``."""
