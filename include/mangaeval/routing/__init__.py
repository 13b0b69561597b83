"""The routing table the live chatbot reads: building, validating and publishing it safely."""
