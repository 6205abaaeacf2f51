"""Images: identify an upload from its bytes, decode it within limits, and render its variants.

- :mod:`.render`: ``render_variants``, the whole job; :mod:`.rendered`: what it produced;
- :mod:`.sniff`, :mod:`.codecs`: naming a format from its first bytes, and the decoders a project allows;
- :mod:`.limits`: what one image may cost, checked from its header before decoding;
- :mod:`.colour`, :mod:`.icc`: bringing any colour space to sRGB; :mod:`.resample`: banded downscaling;
- :mod:`.animation`: animated GIF and WebP kept animated; :mod:`.encode`: the variant's files;
- :mod:`.placeholder`: the ThumbHash and the dominant colour shown while a variant loads.
"""
