"""The robustness set: answers worded as real models word them, correct or with one error, for golden cases."""
