"""Text reports and pictures."""
