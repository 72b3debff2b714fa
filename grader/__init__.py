__version__ = "0.1.0"

import os as _os

# torch.cuda.is_available() through NVML, without initialising CUDA, so that
# batch workers forked from this process can still use the GPU.
_os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
