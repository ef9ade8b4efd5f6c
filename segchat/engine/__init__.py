"""The turn engine: send, recover, commit and price turns, in step with the stored session."""
