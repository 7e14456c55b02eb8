"""WorldQuant BRAIN: the REST client side and a local BRAIN-compatible server (`alphamine.brain.server`).

Nothing is imported here on purpose: the client modules need httpx only, the server needs fastapi and
uvicorn; each caller imports the submodule it uses.
"""
