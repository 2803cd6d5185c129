#!/usr/bin/python3
"""Train the fixture CNN on Fashion-MNIST and export it to ONNX.

Uses only Debian packages: python3-torch, python3-onnx, dataset-fashion-mnist.
Run it with the system interpreter, one thread, so results repeat:

    OMP_NUM_THREADS=1 /usr/bin/python3 train_fashion_cnn.py

The exported graph takes pixels scaled to [0, 1] as float32 NCHW [N, 1, 28, 28]
and returns logits [N, 10]; the dataset normalisation lives inside the graph, so
every tool can feed it plain data.
"""
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import onnx
import torch
from torch import nn

DATA_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS = int(os.environ.get("EPOCHS", "3"))
MEAN, STD = 0.2860, 0.3530


def read_idx(name):
    with gzip.open(os.path.join(DATA_DIR, name), "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class FashionCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.classifier(self.features((x - MEAN) / STD))


def accuracy(model, images, labels):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            logits = model(images[i:i + 1000])
            correct += (logits.argmax(1) == labels[i:i + 1000]).sum().item()
    return correct / len(images)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    to_tensor = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0).unsqueeze(1)
    train_x = to_tensor(read_idx("train-images-idx3-ubyte.gz"))
    train_y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    test_x = to_tensor(read_idx("t10k-images-idx3-ubyte.gz"))
    test_y = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))

    model = FashionCnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        model.train()
        started = time.time()
        order = torch.randperm(len(train_x))
        for i in range(0, len(order), 64):
            batch = order[i:i + 64]
            optimizer.zero_grad()
            loss = loss_fn(model(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}: {time.time() - started:.1f}s, test top-1 {accuracy(model, test_x, test_y):.4f}",
              flush=True)

    model.eval()
    top1 = accuracy(model, test_x, test_y)
    out = os.path.join(HERE, "fashion-cnn.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), out, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    onnx.checker.check_model(onnx.load(out))
    provenance = {
        "model": "fashion-cnn.onnx",
        "architecture": "conv3x3(16)-bn-relu-pool, conv3x3(32)-bn-relu-pool, fc(1568->128)-relu, fc(128->10)",
        "input": "input: float32 [batch, 1, 28, 28], pixels / 255; normalisation inside the graph",
        "output": "logits: float32 [batch, 10]",
        "dataset": "Fashion-MNIST, Debian package dataset-fashion-mnist (60000 train / 10000 test)",
        "training": f"Adam lr 1e-3, batch 64, {EPOCHS} epochs, seed 0, one thread",
        "opset": 13,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "test_top1": round(top1, 4),
    }
    with open(os.path.join(HERE, "provenance.json"), "w") as f:
        json.dump(provenance, f, indent=2)
        f.write("\n")
    print(json.dumps(provenance, indent=2))


if __name__ == "__main__":
    sys.exit(main())
