"""The interpreter wing: runs lowered ``ascend`` programs (and ``pakv.gather``) on the host.

``machine`` gives every ``ascend`` op its meaning and checks, with the synchronisation
model in ``sync``, the faults it reports in ``faults`` and its record in ``trace``;
``ascend_functions``, ``arith_functions``, ``array_functions`` and ``pakv_functions``
are the stock xDSL interpreter's implementations; ``fast_path`` compiles a kernel once
into Python (``fast_path_source``); ``int_ops`` is the integer semantics both paths
share; ``sequence`` runs a program of several kernels. Imports only ``pakv_dialect``,
``passes`` and the shared ``runtime`` modules.
"""
