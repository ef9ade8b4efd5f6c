"""Plain data: the conversation, attachments, a request's controls, a reply, a turn, the credit ledger."""
