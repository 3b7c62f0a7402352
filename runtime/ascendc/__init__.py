"""The AscendC wing: the ``ascendc`` target (``printer``, ``body``, ``plan``, ``facts``) and
the host build that compiles an emitted kernel against the stand-in API (``host_build``).
Imports only ``pakv_dialect``, ``passes`` and the shared ``runtime`` modules.
"""
