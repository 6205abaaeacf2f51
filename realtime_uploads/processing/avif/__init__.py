"""AVIF: what a file will make libavif and dav1d allocate, read before either runs (stdlib only).

- :mod:`.boxes`: reading ISOBMFF boxes safely; :mod:`.isobmff`: the container as libavif reads it;
- :mod:`.av1`: the AV1 sequence and frame headers, and the largest frame they declare.
"""
