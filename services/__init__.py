"""Domain logic as plain functions. Services flush, never commit; they never read the request."""
