"""Presign: the browser asks for an upload and gets a presigned POST and a subscribe token.

- :mod:`.views`: ``POST /api/uploads/`` (one), ``POST /api/uploads/batch/`` (many), ``GET /api/uploads/`` (history);
- :mod:`.serializers`: what a presign request must hold;
- :mod:`.service`: the rows, the POSTs and the tokens in one call;
- :mod:`.throttling`: the rate per client and the cap on pending uploads;
- :mod:`.identity`: who is asking (a user, else an address behind trusted proxies) and their session.
"""
