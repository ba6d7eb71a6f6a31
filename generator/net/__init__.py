"""Network commands' shared parts: the polite HTTP client and the link checker.

Nothing in here is imported by ``tidings build``: the build never touches the network.
"""
