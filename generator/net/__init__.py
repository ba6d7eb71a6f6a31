"""Network access for the explicit network commands (fetch, check). Nothing else imports httpx.

Nothing in here is imported by ``tidings build``: the build never touches the network.
"""
