"""Feeds in: subscriptions, parsing fetched bytes into entries, and the fetch state store."""
