"""Network access for the explicit network commands (fetch, check). Nothing else imports httpx."""
