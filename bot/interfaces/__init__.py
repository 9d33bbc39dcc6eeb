"""The ways in: the web chat (`web`), the OpenAI-compatible HTTP API (`openai_api`), the
`partnerbot` command line (`cli`), LangChain (`runnables`), and what a shared server needs
(`accounts`, `admission`, `feedback`). Each is a thin adapter over `bot.chatbot.ChatBot`."""
