"""The tool wing: the ``pakv`` command (``cli``) and what it is built from: where a
``pakv.gather`` comes from (``sources``, ``shape_spec``), its data (``workload``), the
steps of compile / run / explain (``program``, ``explain``) and the timeline / cost
model with its trace export (``timeline``). The top wing: nothing imports it.
"""
