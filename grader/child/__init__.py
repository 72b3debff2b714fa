"""Code that runs inside the sandbox.

Everything in this package is imported by the zygote process inside the
sandbox, so it must be self-contained: relative imports only, standard library,
torch and safetensors.  The hidden checks live elsewhere (``grader.checks``)
and are never visible to learner code.
"""
