"""realtime-uploads: browser uploads straight to storage, processed elsewhere, results pushed over a WebSocket."""

#: The one version number: the distribution's (pyproject reads it), the OpenAPI document's
#: ``info.version`` and the contract's.
__version__ = "0.3.0"
