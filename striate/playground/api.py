"""The JSON API under ``/api/`` that the pages use and a test can call.

Every endpoint answers JSON (the shipped sample photo excepted); a bad
request gets ``{"error": message}`` with a 4xx status, never a traceback.
No endpoint takes a filesystem path: models are zoo names, runs are the
server's own, test images are indices, pictures travel as request bodies.

    GET  /api/health                    {"status": "ok", "version", "model", "training"}
    GET  /api/model                     the served run: name, classes, input shape
    POST /api/predict?top=K             body: PNG/JPEG bytes -> {"top": [{"label", "probability"}]}
    POST /api/explain                   body: PNG/JPEG bytes -> feature maps, saliency, Grad-CAM
    GET  /api/kernels                   the named kernels
    GET  /api/kernel/sample             the shipped photo (PNG)
    POST /api/kernel                    JSON {kernel, mode, padding, stride, dilation[, image]}
    GET  /api/models, /api/datasets     what the Train and Architecture pages offer
    GET  /api/summary?model=M&input=C,H,W   the summary table
    POST /api/train/start               JSON {model, dataset, epochs, lr, batch_size, augment, limit}
    POST /api/train/stop
    GET  /api/train/status
    GET  /api/train/stream?job=J&since=I    server-sent events (see :mod:`.training`)
    GET  /api/inspect/filters | confusion | wrong?count=K | image?index=I
    GET  /api/runs                      the runs a learner may serve; which one is served
    POST /api/runs/select               JSON {run}: serve that run (a name, never a path)
    POST /api/teach/conv                JSON {kernel, padding, stride, dilation, bias, image}:
                                        every window position's patch, products, sum, output
    POST /api/teach/neuron?layer=L&channel=C&y=Y&x=X   body: PNG -> one cell's arithmetic,
                                        receptive field and the next layer's cells it feeds
    POST /api/teach/backward?layer=L&filter=F          body: PNG -> the gradient at every layer

Every request is costed before it is done: a summary's activations and time
(:data:`SUMMARY_LIMITS`, estimated from small probes of the same model) and a
kernel's output size (:data:`KERNEL_LIMITS`); a request over them is refused
with 413 and a message, so that no request inside the page's own fields can
exhaust the server.
"""
import asyncio
import functools
import json

from ..backend import xp
from . import pictures
from .served import Unavailable
from .training import JobConflict

__all__ = ["ApiError", "MAX_UPLOAD", "SUMMARY_LIMITS", "KERNEL_LIMITS", "read_body", "routes",
           "release_memory"]

#: The largest request body the playground reads (bytes).
MAX_UPLOAD = 5 * 1024 * 1024
#: Uploaded photos for the Kernels page are shrunk to this longest side.
KERNEL_IMAGE_SIDE = 512
#: A summary is refused when its estimated forward activations or time exceed these.
SUMMARY_LIMITS = {"activation_bytes": 512 * 2**20, "seconds": 10.0}
#: Mult-adds per second assumed for the time estimate (a slow CPU's numpy).
SUMMARY_RATE = 3e9
#: Kernel requests: the largest stride, dilation and padding (each side), kernel
#: side and value, and output values (pixels times channels).
KERNEL_LIMITS = {"stride": 64, "dilation": 64, "padding": 64, "side": 15, "value": 1e6,
                 "output_values": 4_000_000}


class ApiError(Exception):
    """A request the playground refuses: ``status`` (4xx) and a message for the page."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def error_response(status, message):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status)


def endpoint(function, body_type=None):
    """Run the (synchronous) ``function(request, body)`` in a worker thread,
    reading at most :data:`MAX_UPLOAD` bytes of body first, and turn the
    library's complaints about the request into 4xx JSON errors.
    ``body_type="json"``: a POST must declare ``application/json``."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, Response

    from ..runs.errors import RunConfigError
    from ..train.checkpoint import CheckpointError

    @functools.wraps(function)
    async def wrapper(request):
        try:
            if body_type == "json" and request.method == "POST":
                kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if kind != "application/json":
                    raise ApiError(403, f"{request.url.path} takes application/json, not "
                                        f"{kind or 'a body without a type'}")
            body = await read_body(request) if request.method == "POST" else b""
            result = await run_in_threadpool(function, request, body)
        except ApiError as error:
            return error_response(error.status, error.message)
        except JobConflict as error:
            return error_response(409, str(error))
        except Unavailable as error:
            return error_response(503, str(error))
        except (ValueError, TypeError, RunConfigError, CheckpointError) as error:
            return error_response(400, str(error) or type(error).__name__)
        except RecursionError:
            return error_response(400, "the request is nested too deeply to read")
        if isinstance(result, Response):
            return result
        try:
            return JSONResponse(result)
        except ValueError:  # NaN or infinity has no JSON spelling
            return error_response(400, "the answer holds a number that is not finite (NaN or "
                                       "infinity); use smaller values")

    return wrapper


async def read_body(request):
    """The request body, refused with 413 beyond :data:`MAX_UPLOAD` bytes
    (a declared length is checked before anything is read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD:
        raise ApiError(413, too_large(int(declared)))
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_UPLOAD:
            raise ApiError(413, too_large(total))
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(size):
    return (f"the request body is {size:,} bytes or more; the playground accepts at most "
            f"{MAX_UPLOAD:,} bytes (5 MB)")


def _int(request, name, default, low, high):
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}, got {value}")
    return value


def _json(body):
    try:
        value = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise ApiError(400, "the request body is JSON nested too deeply to read; the "
                            "playground's requests are flat objects") from None
    if not isinstance(value, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return value


def _playground(request):
    return request.app.state.playground


# --------------------------------------------------------------------------- model and pictures


def health(request, body):
    from .. import __version__

    playground = _playground(request)
    served = playground.current()
    return {"status": "ok", "version": __version__, "model": served.name if served else None,
            "training": playground.job.running}


def model_info(request, body):
    return _playground(request).served().info()


def predict(request, body):
    served = _playground(request).served()
    top = _int(request, "top", 3, 1, 1000)
    image = pictures.decode_image(body)
    return {"top": served.predict(image, top=top), "run": served.name}


def explain(request, body):
    served = _playground(request).served()
    image = pictures.decode_image(body)
    frame = served.frame(image)
    return {**served.explain(frame), "top": served.predict(image, top=3)}


# --------------------------------------------------------------------------- kernels


def kernel_presets(request, body):
    from ..kernels import KERNELS

    return {"kernels": {name: kernel.tolist() for name, kernel in KERNELS.items()}}


def kernel_sample(request, body):
    from starlette.responses import Response

    from ..kernels import SAMPLE_IMAGE

    with open(SAMPLE_IMAGE, "rb") as file:  # a fixed file of the package, never a request's path
        return Response(file.read(), media_type="image/png",
                        headers={"Cache-Control": "max-age=3600"})


def _data_url_bytes(text):
    import base64
    import binascii

    if not isinstance(text, str) or not text.startswith("data:image/") or ";base64," not in text:
        raise ApiError(400, "image must be a data URL (data:image/png;base64,...) or \"sample\"")
    try:
        return base64.b64decode(text.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "image: the data URL's base64 part is malformed") from None


def _kernel_image(source):
    from PIL import Image

    from ..kernels import image_array, sample_image

    if source in (None, "sample"):
        return sample_image()
    picture = pictures.decode_image(_data_url_bytes(source), "the uploaded photo")
    if max(picture.size) > KERNEL_IMAGE_SIDE:
        picture = picture.copy()
        picture.thumbnail((KERNEL_IMAGE_SIDE, KERNEL_IMAGE_SIDE), Image.BILINEAR)
    return image_array(picture)


def _size_option(name, value, low, words=()):
    """``value`` of the kernel option ``name``: one of ``words``, a whole
    number from ``low`` to its limit, or a pair of them (as a tuple)."""
    high = KERNEL_LIMITS[name]
    if isinstance(value, str) and value in words:
        return value
    items = value if isinstance(value, list) else [value]
    if len(items) not in (1, 2) or any(isinstance(v, bool) or not isinstance(v, int)
                                       or not low <= v <= high for v in items):
        spelled = " or ".join([*(repr(w) for w in words), f"a whole number from {low} to {high}",
                               "a pair of them"])
        raise ApiError(400, f"{name} must be {spelled}; got {json.dumps(value)[:60]}")
    return items[0] if len(items) == 1 else tuple(items)


def _kernel_matrix(matrix):
    """The kernel option: a preset name or a list of rows of finite numbers,
    at most :data:`KERNEL_LIMITS` ``side`` square and ``value`` in size."""
    from ..kernels import KERNELS

    if isinstance(matrix, str):
        if matrix not in KERNELS:
            raise ApiError(400, f"unknown kernel {matrix!r}; the presets are {sorted(KERNELS)}")
        return KERNELS[matrix]
    side, limit = KERNEL_LIMITS["side"], KERNEL_LIMITS["value"]
    if (not isinstance(matrix, list) or not matrix or len(matrix) > side
            or any(not isinstance(row, list) or not row or len(row) > side for row in matrix)):
        raise ApiError(400, f"the kernel must be rows of numbers, at most {side}x{side}")
    for r, row in enumerate(matrix):
        for c, value in enumerate(row):
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not abs(value) <= limit):
                raise ApiError(400, f"kernel row {r + 1}, column {c + 1}: {value!r} is not a "
                                    f"number from {-limit:g} to {limit:g}")
    if len({len(row) for row in matrix}) != 1:
        raise ApiError(400, "every row of the kernel must have the same length")
    return xp.asarray(matrix, dtype=xp.float64)


def kernel_request(options, allowed=()):
    """Checked kernel options: ``(weight, mode, padding, stride, dilation, image)``."""
    unknown = sorted(set(options) - {"kernel", "mode", "padding", "stride", "dilation", "image",
                                     *allowed})
    if unknown:
        raise ApiError(400, f"unknown kernel options {unknown}")
    weight = _kernel_matrix(options.get("kernel", "identity"))
    mode = options.get("mode", "correlate")
    if mode not in ("correlate", "convolve"):
        raise ApiError(400, f"mode must be 'correlate' or 'convolve', got {mode!r}")
    padding = _size_option("padding", options.get("padding", "same"), 0, ("same", "valid"))
    stride = _size_option("stride", options.get("stride", 1), 1)
    dilation = _size_option("dilation", options.get("dilation", 1), 1)
    return weight, mode, padding, stride, dilation, options.get("image")


def kernel(request, body):
    from ..kernels import apply, output_shape

    weight, mode, padding, stride, dilation, source = kernel_request(_json(body))
    image = _kernel_image(source)
    size = output_shape(image.shape, weight.shape, padding=padding, stride=stride,
                        dilation=dilation)
    channels = image.shape[2] if image.ndim == 3 else 1
    values = max(size[0], 0) * max(size[1], 0) * channels
    if values > KERNEL_LIMITS["output_values"]:
        raise ApiError(413, f"this kernel's output would hold {values:,} values; the playground "
                            f"computes at most {KERNEL_LIMITS['output_values']:,}: use less "
                            "padding or a larger stride")
    with xp.errstate(all="ignore"):
        out = apply(image, weight, mode=mode, padding=padding, stride=stride, dilation=dilation)
    if not xp.isfinite(out).all():
        raise ApiError(400, "the kernel's output overflows (it is not finite): use smaller "
                            "kernel values")
    low, high = float(out.min()), float(out.max())
    # A zero-sum kernel (an edge detector) answers with signed values: blue below
    # zero, red above, as `striate kernels` draws them; the others as a photo editor would.
    signed = low < 0 and abs(float(weight.sum())) < 1e-9
    if signed:
        limit = pictures.signed_limit(out)
        picture = pictures.diverging(out.mean(axis=2) if out.ndim == 3 else out, limit)
        scale = {"map": "diverging", "low": -limit, "high": limit}
    else:
        picture = (xp.clip(out, 0, 1) * 255 + 0.5).astype(xp.uint8)
        scale = {"map": "grey", "low": 0.0, "high": 1.0}
    return {"input_shape": list(image.shape[:2]), "output_shape": list(out.shape[:2]),
            "formula_shape": list(size), "min": low, "max": high, "scale": scale,
            "image": pictures.png_data_url(picture)}


# --------------------------------------------------------------------------- architecture


def models_list(request, body):
    from ..models import list_models

    return {"models": list_models()}


def datasets_list(request, body):
    from .training import trainable_datasets

    return {"datasets": trainable_datasets()}


def _input_shape(text):
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) <= 0:
        raise ApiError(400, f"input must be C,H,W (three positive whole numbers), got {text!r}")
    if values[0] > 64 or max(values[1:]) > 1024:
        raise ApiError(400, f"input {text} is too large for the playground (at most 64 "
                            "channels and 1024x1024)")
    return values


def release_memory():
    """Hand freed memory back to the system after a large request: the conv
    ops' idle scratch buffers, and the heap pages glibc keeps (``import
    striate`` asks it to keep up to 256 MiB for the next training step)."""
    import ctypes
    import gc

    from ..functional.windows import clear_workspace

    gc.collect()
    clear_workspace()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _create(name, channels):
    from .. import models

    options = {}
    if channels is not None and "in_channels" in models.model_options(name):
        options["in_channels"] = channels
    return models.create(name, **options)


@functools.lru_cache(maxsize=16)
def _cost_probes(name, channels):
    """``[(side, activation bytes, mult-adds), ...]``: the summary of model
    ``name`` measured on two small square inputs, the smallest it takes from
    a quarter of its own side on and one a quarter of its side larger (a few
    sides are tried for each: some nets take only sides of a certain form);
    on its own input alone when it takes no smaller one. Cached per model and
    channel count."""
    from ..summary import summary

    model = _create(name, channels)
    native = tuple(model.input_shape)
    default = max(native[1:])
    channels = native[0] if channels is None else channels

    def measure(side):
        shape = (channels, side, side) if len(native) == 3 else (channels, side)
        try:
            result = summary(model, shape, depth=1)
        except (RuntimeError, ValueError):
            return None
        return side, result.activation_bytes, result.total_mult_adds

    probes, start = [], max(16, default // 4) // 4 * 4
    for _ in range(2):
        for side in range(start, min(start + 64, default), 4):
            probe = measure(side)
            if probe:
                probes.append(probe)
                start = side + max(8, default // 4) // 4 * 4
                break
    if not probes:
        probes = [p for p in [measure(default)] if p]
    del model
    release_memory()
    return tuple(probes)


def estimate_summary(name, shape):
    """``(activation bytes, mult-adds)`` that the summary of ``name`` at
    ``shape`` (C, H, W) would cost, without running it: per input pixel as
    the largest probe of :func:`_cost_probes` measured, growing with the side
    as it grew between the two probes (valid convolutions lose a border, so
    a larger input costs more per pixel), times the requested pixels, and
    20% on top."""
    probes = _cost_probes(name, shape[0])
    if not probes:
        return None
    side = max(shape[1:])
    pixels = float(side) ** 2

    def extrapolate(index):
        per_pixel = [p[index] / p[0] ** 2 for p in probes]
        grown = per_pixel[-1]
        if len(probes) == 2 and side > probes[1][0]:
            slope = (per_pixel[1] - per_pixel[0]) / (probes[1][0] - probes[0][0])
            grown = max(grown, per_pixel[1] + slope * (side - probes[1][0]))
        return 1.2 * grown * pixels

    return extrapolate(1), extrapolate(2)


@functools.lru_cache(maxsize=32)
def _summary(name, shape, depth):
    from ..runs.checks import check_input_size
    from ..summary import summary

    model = _create(name, None if shape is None else shape[0])
    shape = tuple(shape or model.input_shape)
    check_input_size(model, shape, name=name,
                     suggest=lambda usable: "input " + ",".join(map(str, usable)))
    result = summary(model, shape, depth=depth)
    rows = [{"name": layer.name, "type": layer.type, "depth": layer.depth,
             "output_shape": layer.output_shape, "params": layer.num_params,
             "mult_adds": layer.mult_adds, "receptive_field": layer.receptive_field,
             "jump": layer.jump}
            for layer in result.layers if layer.is_leaf]
    return {"model": name, "input_shape": list(shape), "rows": rows,
            "total_params": result.total_params, "trainable_params": result.trainable_params,
            "total_mult_adds": result.total_mult_adds,
            "activations_mb": result.activation_bytes / 1e6,
            "params_mb": result.param_bytes / 1e6}


def _check_summary_cost(name, shape):
    """Refuse (413) a summary whose estimated activations or time exceed :data:`SUMMARY_LIMITS`."""
    if shape is None:
        shape = tuple(_create(name, None).input_shape)
    if len(shape) != 3:
        return
    estimate = estimate_summary(name, shape)
    if estimate is None:
        return
    activation, mult_adds = estimate
    seconds = mult_adds / SUMMARY_RATE
    limit_bytes, limit_seconds = SUMMARY_LIMITS["activation_bytes"], SUMMARY_LIMITS["seconds"]
    if activation > limit_bytes or seconds > limit_seconds:
        raise ApiError(413, f"the summary of {name} at input {','.join(map(str, shape))} would "
                            f"need about {activation / 2**20:,.0f} MB of activations and "
                            f"{seconds:,.1f} s; the playground computes summaries of at most "
                            f"{limit_bytes / 2**20:,.0f} MB and {limit_seconds:g} s: ask for a "
                            "smaller input (fewer pixels)")


def model_summary(request, body):
    from ..models.registry import get_model_factory

    name = request.query_params.get("model", "")
    if not name:
        raise ApiError(400, "give a model: /api/summary?model=lenet5&input=1,28,28")
    get_model_factory(name)  # an unknown name is a 400 naming the zoo
    text = request.query_params.get("input", "")
    shape = _input_shape(text) if text else None
    _check_summary_cost(name, shape)
    try:
        return _summary(name, shape, 99)
    finally:
        release_memory()


# --------------------------------------------------------------------------- training


def train_start(request, body):
    from starlette.responses import JSONResponse

    status = _playground(request).job.start(_json(body))
    return JSONResponse(status, status_code=202)


def train_stop(request, body):
    job = _playground(request).job
    return {"stopping": job.stop(), **job.status()}


def train_status(request, body):
    return _playground(request).job.status()


async def train_stream(request):
    """Server-sent events of the current job from event ``since`` on;
    ``event: end`` once the job is over and everything is sent."""
    from starlette.responses import StreamingResponse

    job = _playground(request).job
    try:
        wanted = int(request.query_params.get("job", "0"))
        since = int(request.query_params.get("since", "0"))
    except ValueError:
        return error_response(400, "job and since must be whole numbers")
    last = request.headers.get("last-event-id", "")
    if last.isdigit():
        since = max(since, int(last) + 1)

    async def events():
        number, index = wanted, since
        while True:
            current, fresh, finished = job.events_since(number, index)
            if current != number:
                number, index = current, 0
            for event in fresh:
                yield f"id: {index}\ndata: {json.dumps({**event, 'job': number})}\n\n"
                index += 1
            if finished and not fresh:
                yield "event: end\ndata: {}\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.1)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


# --------------------------------------------------------------------------- inspect


def inspect_filters(request, body):
    served = _playground(request).served()
    return {"run": served.name, "layers": served.filters()}


def inspect_confusion(request, body):
    return _playground(request).served().confusion()


def inspect_wrong(request, body):
    count = _int(request, "count", 12, 1, 100)
    return {"images": _playground(request).served().wrong(count)}


def inspect_image(request, body):
    index = _int(request, "index", 0, 0, 10**9)
    return _playground(request).served().test_image(index)


# --------------------------------------------------------------------------- runs


def runs_list(request, body):
    playground = _playground(request)
    return {"runs": playground.runs(), "training": playground.job.running}


def runs_select(request, body):
    options = _json(body)
    if set(options) != {"run"}:
        raise ApiError(400, "send {\"run\": NAME}, NAME one of the runs /api/runs lists")
    model = _playground(request).select(options["run"])
    release_memory()
    return model.info()


# --------------------------------------------------------------------------- teaching


def teach_conv(request, body):
    """The convolution animation's numbers, on the Kernels page's photo
    shrunk to :data:`~striate.playground.teaching.CONV_SIDE` pixels a side."""
    from PIL import Image

    from ..kernels import image_array
    from .teaching import CONV_SIDE, conv_steps

    options = _json(body)
    bias = options.pop("bias", 0.0)
    if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not abs(bias) <= 1e6:
        raise ApiError(400, f"bias must be a number from -1e6 to 1e6, got {bias!r}")
    weight, mode, padding, stride, dilation, source = kernel_request(options)
    if mode == "convolve":  # a true convolution is a correlation with the flipped kernel
        weight = weight[::-1, ::-1]
    if source in (None, "sample"):
        from ..kernels import SAMPLE_IMAGE
        picture = Image.open(SAMPLE_IMAGE)
    else:
        picture = pictures.decode_image(_data_url_bytes(source), "the uploaded photo")
    small = picture.convert("L").resize((CONV_SIDE, CONV_SIDE), Image.BILINEAR)
    grey = image_array(small).astype(xp.float64)
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    with xp.errstate(all="ignore"):
        result = conv_steps(grey, weight, bias=float(bias), padding=padding, stride=stride,
                            dilation=dilation)
    result["mode"] = mode
    return result


def _picture_frame(request, body):
    served = _playground(request).served()
    return served, served.frame(pictures.decode_image(body))


def teach_neuron(request, body):
    from .teaching import neuron

    served, frame = _picture_frame(request, body)
    layer = request.query_params.get("layer", "")
    return neuron(served, frame, layer, _int(request, "channel", 0, 0, 4096),
                  _int(request, "y", 0, 0, 4096), _int(request, "x", 0, 0, 4096))


def teach_backward(request, body):
    from .teaching import backward

    served, frame = _picture_frame(request, body)
    return backward(served, frame, request.query_params.get("layer") or None,
                    _int(request, "filter", 0, 0, 4096))


def routes():
    from starlette.routing import Route

    get, post = ["GET"], ["POST"]
    json_body = {"/api/kernel", "/api/train/start", "/api/train/stop", "/api/runs/select",
                 "/api/teach/conv"}
    table = [
        ("/api/health", health, get), ("/api/model", model_info, get),
        ("/api/runs", runs_list, get), ("/api/runs/select", runs_select, post),
        ("/api/teach/conv", teach_conv, post), ("/api/teach/neuron", teach_neuron, post),
        ("/api/teach/backward", teach_backward, post),
        ("/api/predict", predict, post), ("/api/explain", explain, post),
        ("/api/kernels", kernel_presets, get), ("/api/kernel/sample", kernel_sample, get),
        ("/api/kernel", kernel, post),
        ("/api/models", models_list, get), ("/api/datasets", datasets_list, get),
        ("/api/summary", model_summary, get),
        ("/api/train/start", train_start, post), ("/api/train/stop", train_stop, post),
        ("/api/train/status", train_status, get),
        ("/api/inspect/filters", inspect_filters, get),
        ("/api/inspect/confusion", inspect_confusion, get),
        ("/api/inspect/wrong", inspect_wrong, get), ("/api/inspect/image", inspect_image, get),
    ]
    return ([Route(path, endpoint(function, "json" if path in json_body else None),
                   methods=methods) for path, function, methods in table]
            + [Route("/api/train/stream", train_stream, methods=get)])
