"""Test source: `count` gray8 frames of width x height (params), frame n
filled with n % 256, paced by the graph's clock when fps > 0."""
import mqs

MQS_BLOCK = {
    "summary": "frames of one level each, counting up",
    "outputs": [{"name": "out", "format": "gray8", "width": "$width", "height": "$height", "slots": 4}],
    "params": {
        "width": {"type": "int", "default": 32, "min": 1, "max": 4096},
        "height": {"type": "int", "default": 16, "min": 1, "max": 4096},
        "count": {"type": "int", "default": 10, "min": 1},
        "period": {"type": "duration", "default": "0ms"},
    },
}

settings = {}
made = 0


def init(params):
    settings.update(params)


def produce():
    global made
    if made == settings["count"]:
        return mqs.EOS
    out = mqs.block.alloc("out")
    out.array[:] = made % 256
    out.pts = mqs.block.start_time() + made * max(settings["period"], 1)
    out.keyframe = True
    if settings["period"]:
        mqs.block.wait_until(out.pts)
    mqs.block.send("out", out)
    made += 1
