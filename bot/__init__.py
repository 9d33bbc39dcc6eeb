"""Partnerbot's answering core: `ChatBot` turns questions into cited answers from the store."""

from .chatbot import Answer, ChatBot, Citation, Done, Partial, Retrieved
from .retrieval import Passage

__all__ = ["Answer", "ChatBot", "Citation", "Done", "Partial", "Passage", "Retrieved"]
