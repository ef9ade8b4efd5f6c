"""segchat: a terminal chat client for Llama 3.1 8B Instruct on Segmind."""

__version__ = "0.1.0"
