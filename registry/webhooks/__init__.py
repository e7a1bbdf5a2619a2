"""Webhooks: events written in the transaction that caused them (the outbox), delivered by a worker."""
