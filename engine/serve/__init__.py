"""``satchel serve``: an OpenAI-compatible HTTP API over Satchel's engine, on loopback.

Why OpenAI's protocol: editors, scripts and chat front-ends already speak it (the ``openai``
client, Continue, Open WebUI...), so pointing ``base_url`` at Satchel gives them the local model
*and* the user's documents. Why FastAPI + uvicorn: request validation from typed models (the
422s come for free and in one place), server-sent events through a plain async generator, and a
client disconnect that surfaces as an exception in that generator, which is where a generation
must be stopped. Both are pure Python wheels that freeze cleanly with PyInstaller.

Modules: :mod:`protocol` (request models, model names, OpenAI-style errors), :mod:`queue`
(one generation at a time, FIFO, cancellable), :mod:`app` (the routes), :mod:`server` (binding
rules, the state file the GUI reads, uvicorn).
"""

#: Where a server token may come from without appearing on the command line, where ``ps`` shows
#: it (the window starts servers this way).
TOKEN_ENV = "SATCHEL_SERVER_TOKEN"
