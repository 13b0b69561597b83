"""Events the live bot emits (request and session events), shared by A/B tests and canaries."""
