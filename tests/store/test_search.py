"""--search: the messages holding every word, newest first, at most the limit; the same hits, in the same order,
as the plain query that matches, joins and sorts them all."""

from __future__ import annotations

import re

import pytest

from segchat.model.conversation import Message


def reference_search(store, text: str, limit: int = 50) -> list[tuple[str, str, str]]:
    """Every match joined, snippeted and sorted by message id, then cut at the limit."""
    words = [w for w in re.findall(r"\w+", text) if w]
    if not words:
        return []
    query = " ".join('"' + w.replace('"', '""') + '"' for w in words)
    return list(store._db.execute(
        "SELECT s.name, m.role, snippet(messages_fts, 0, '[', ']', '…', 12) FROM messages_fts "
        "JOIN messages m ON m.id = messages_fts.rowid JOIN sessions s ON s.id = m.session_id "
        "WHERE messages_fts MATCH ? ORDER BY m.id DESC LIMIT ?", (query, limit)))


@pytest.fixture
def filled(store):
    """Three sessions written in turns, with gaps where messages were undone and a session deleted."""
    infos = [store.create(name) for name in ("alpha", "beta", "gamma")]
    for n in range(150):
        info = infos[n % 3]
        store.add_exchange(info.id, [Message("user", f"common word {n} {'rare' if n == 77 else ''} \"quoted\""),
                                     Message("assistant", f"reply {n}: common ground, café {n % 7}")])
        if n % 10 == 0:
            store.remove_messages(info.id, [store.last_message_id(info.id)])
    doomed = store.create("doomed")
    store.add_exchange(doomed.id, [Message("user", "common and soon gone")])
    store.delete("doomed")
    store.add_exchange(infos[0].id, [Message("user", "common, the newest of all")])
    return store


@pytest.mark.parametrize("text", ["common", "common word", "rare", "café", "CAFÉ 3", '"quoted"', "reply 1",
                                  "nothing-matches-this", "   ", "common gone"])
@pytest.mark.parametrize("limit", [1, 7, 50, 1000])
def test_search_gives_what_sorting_every_match_gave(filled, text, limit):
    assert [hit[:3] for hit in filled.search(text, limit=limit)] == reference_search(filled, text, limit)


def test_search_is_newest_first_and_cut_at_the_limit(filled):
    hits = filled.search("common")
    assert len(hits) == 50
    assert hits[0] == ("alpha", "user", "[common], the newest of all", {})
    assert [h[0] for h in filled.search("rare")] == ["gamma"]  # message 77 went to the third


def test_search_reads_the_meta_that_holds_a_mark(store):
    info = store.create("cut")
    store.add_exchange(info.id, [Message("user", "the tram"),
                                 Message("assistant", "a tram goes", meta={"incomplete": "dropped", "model": "m"}),
                                 Message("user", "another tram"),
                                 Message("assistant", "a whole tram", meta={"finish_reason": "stop"})])
    hits = {snippet: meta for _, _, snippet, meta in store.search("tram", ('"incomplete"',))}
    assert hits["a [tram] goes"] == {"incomplete": "dropped", "model": "m"}
    assert hits["a whole [tram]"] == {} and hits["the [tram]"] == {}
