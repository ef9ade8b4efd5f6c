"""The network: the only users of httpx and httpcore; safe retries, one deadline, decoding what servers send."""
