"""The callback: the processor's signed report arrives, is checked, and changes the upload's state.

- :mod:`.body`: the JSON body, parsed and checked by hand (the push path's hottest code);
- :mod:`.endpoint`: signature, body, state change: the answer, whatever the transport;
- :mod:`.views`: the Django view; :mod:`.fast_path`: the same answered ahead of Django's middleware.
"""
