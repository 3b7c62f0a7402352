"""The host wing: the aclnn-style API on numpy arrays (``api``, ``aclnn``), its checks and
errors, the ``Tensor`` wrapper, and the executors that run a validated call (the
lowered kernel's among them, in ``lowered``). Imports the interpreter and AscendC wings.
"""
