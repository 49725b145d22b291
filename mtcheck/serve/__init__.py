"""`mtcheck serve`: the checker over HTTP.

`server.py` serves one loaded `mtcheck.api.Checker` with the standard library (`POST /v1/check`, `GET /health`,
`GET /version`; its docstring is the API's reference), `work.py` queues the requests onto the model,
`payload.py` reads and refuses request bodies and query strings, `languagetool.py` gives a report the shape of
LanguageTool's answer with offsets carried back into the text as sent.
"""
