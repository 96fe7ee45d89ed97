"""Webhook intake: the HTTP edge, the store of deliveries, and processing them in their jobs."""
