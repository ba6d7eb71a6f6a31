"""Email as messages: MIME assembly (message.py) and delivery over SMTP (send.py)."""
