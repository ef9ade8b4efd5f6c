"""All output: replies, notices, tables, progress, and the words for the engine's notice codes."""
