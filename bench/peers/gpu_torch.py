"""PyTorch doing the GPU suite's work on the same data: one K-Means Lloyd step, MLP training
samples/s and scoring rows/s. Runs on CUDA when PyTorch sees a GPU, else on the CPU.
Times are medians after warm-ups, with torch.cuda.synchronize() before each clock read.
Prints one JSON line.
"""
import json, sys, time
import numpy as np
import torch

args = json.loads(sys.argv[1])
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times)), times


out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
       "threads": torch.get_num_threads()}

km = args.get("kmeans")
if km:
    d, k = km["d"], km["k"]
    x = torch.from_numpy(np.fromfile(km["data"], dtype=np.float32).reshape(-1, d)).to(dev)
    c = torch.from_numpy(np.fromfile(km["init"], dtype=np.float32).reshape(k, d)).to(dev)

    def step():
        # The textbook Lloyd step: distances by one matmul (||c||^2 - 2 x.c), argmin, sums by index_add_.
        dist = torch.addmm((c * c).sum(1), x, c.t(), alpha=-2.0)
        a = dist.argmin(1)
        sums = torch.zeros(k, d, device=dev).index_add_(0, a, x)
        counts = torch.bincount(a, minlength=k)
        return sums, counts

    ms, times = timed(step, km["reps"])
    _, counts = step()
    out["kmeans"] = {"ms_per_iter": ms, "times": times, "counts": counts.cpu().tolist()}
    del x

mlp = args.get("mlp")
if mlp:
    d, hidden, batch = mlp["d"], mlp["hidden"], mlp["batch"]
    xh = torch.from_numpy(np.fromfile(mlp["x"], dtype=np.float32).reshape(-1, d))
    yh = torch.from_numpy(np.fromfile(mlp["y"], dtype=np.uint8).astype(np.float32)).reshape(-1, 1)
    n = xh.shape[0]
    sizes = [d] + hidden
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], 1)).to(dev)
    # The same optimizer and L2 as the engine's MLP: Adam, lr 1e-3, L2 on the weights only
    # (Adam's weight_decay adds l2 * w to the gradient, as the engine does; biases get none).
    weights = [p for p in net.parameters() if p.dim() > 1]
    biases = [p for p in net.parameters() if p.dim() == 1]
    opt = torch.optim.Adam([{"params": weights, "weight_decay": mlp["l2"]}, {"params": biases, "weight_decay": 0.0}], lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    # Data resident on the device, shuffled batches gathered there: PyTorch at its best.
    x, y = xh.to(dev), yh.to(dev)

    def epoch():
        perm = torch.randperm(n, device=dev)
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()

    epoch()  # warm-up: kernels chosen, memory pooled
    sync()
    t = time.perf_counter()
    for _ in range(mlp["epochs"]):
        epoch()
    sync()
    out["train_samples_per_s"] = n * mlp["epochs"] / (time.perf_counter() - t)

    if not mlp.get("score"):
        print(json.dumps(out))
        sys.exit(0)
    # Scoring as the engine does it: host rows in, a batch to the device, logits back to the host.
    sb = mlp["score_batch"]
    pinned = xh.pin_memory() if dev.type == "cuda" else xh

    @torch.no_grad()
    def score():
        res = torch.empty(n)
        for s in range(0, n, sb):
            res[s:s + sb] = net(pinned[s:s + sb].to(dev, non_blocking=True)).reshape(-1).cpu()
        return res

    ms, _ = timed(score, 3, warmup=1)
    out["score_rows_per_s"] = n / (ms / 1000)
print(json.dumps(out))
