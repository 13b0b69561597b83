"""Canary rollouts of a new model version: staged traffic, judged per stage, rolled back on their own."""
