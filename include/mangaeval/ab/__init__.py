"""A/B tests between model configurations on live traffic: definitions, assignment, analysis, decisions."""
