"""Partnerbot's answering core: `ChatBot` turns questions into cited answers from the store."""

from .answers import Answer, Citation, Done, Partial, Retrieved
from .chatbot import ChatBot
from .retrieval import Passage

__all__ = ["Answer", "ChatBot", "Citation", "Done", "Partial", "Passage", "Retrieved"]
