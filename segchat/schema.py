"""The session database's schema, versioned: each version is a script that upgrades the one before."""

SCHEMA_VERSION = 2

_V1 = """
CREATE TABLE IF NOT EXISTS sessions(
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '', system TEXT, created REAL NOT NULL, updated REAL NOT NULL,
    spent TEXT, balance TEXT, unpriced INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS messages(
    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')), content TEXT NOT NULL,
    created REAL, meta TEXT);
CREATE INDEX IF NOT EXISTS messages_by_session ON messages(session_id, id);
CREATE TABLE IF NOT EXISTS pending(
    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    content TEXT NOT NULL, created REAL NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END;
"""
# Version 2: which process owns a pending message (pid and start time), its record; each session's profile, role.
_V2 = """
ALTER TABLE pending ADD COLUMN owner TEXT;
ALTER TABLE pending ADD COLUMN meta TEXT;
ALTER TABLE sessions ADD COLUMN profile TEXT;
ALTER TABLE sessions ADD COLUMN role TEXT;
"""
# Schema version -> the script that brings the previous version up to it.
MIGRATIONS = {1: _V1, 2: _V2}
