"""The terminal chat: the prompt loop, its key bindings, toolbar, completion and slash commands."""
