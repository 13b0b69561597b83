"""The Great Expectations validation gate on evaluation results."""
