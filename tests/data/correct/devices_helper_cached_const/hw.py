import torch

NUM_GPUS = torch.cuda.device_count()
