"""Chat APIs behind one protocol: Segmind (v1, its v2 queue, its model catalogue) and OpenAI-compatible servers.

Nothing is imported here: `segchat --models` reads the catalogue (segmind_catalogue) without loading the
providers and the network layer under them. configured.build() makes the provider a configuration names.
"""
