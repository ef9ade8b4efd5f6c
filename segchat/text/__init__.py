"""Untrusted text made safe: the one sanitiser, redaction of secrets, excerpts of what servers send (no I/O)."""
