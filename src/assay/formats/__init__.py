"""Dataset formats of the built-in evaluators, validated with errors naming file and line."""
