"""Generating completions from OpenAI-compatible endpoints."""
