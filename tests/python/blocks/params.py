"""Test sink: writes the params init() got, with their Python types, as JSON
to params.out, and then fails on frame `fail_at` (0: never)."""
import json

import mqs

MQS_BLOCK = {
    "inputs": ["in"],
    "params": {
        "out": {"type": "string"},
        "gain": {"type": "double", "default": 1.5, "min": 0, "max": 4},
        "steps": {"type": "int", "default": 3},
        "on": {"type": "bool", "default": False},
        "wait": {"type": "duration", "default": "10ms"},
        "room": {"type": "size", "default": "2KiB"},
        "mode": {"type": "enum", "choices": ["fast", "exact"], "default": "fast"},
        "fail_at": {"type": "int", "default": 0},
    },
}

seen = 0
fail_at = 0


def init(params):
    global fail_at
    fail_at = params["fail_at"]
    with open(params["out"], "a") as f:
        f.write(json.dumps({k: [v, type(v).__name__] for k, v in params.items()}) + "\n")


def process(inputs):
    global seen
    seen += 1
    if seen == fail_at:
        raise RuntimeError(f"failing on frame {seen} as asked")
