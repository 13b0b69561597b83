"""A local double of Amazon Bedrock Runtime's Converse API, for tests, demos and benchmarks."""
