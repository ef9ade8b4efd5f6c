"""Slash commands: one table feeds /help, dispatch and Tab completion."""
