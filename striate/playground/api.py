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
"""
import asyncio
import functools
import json

from ..backend import xp
from . import pictures
from .served import Unavailable
from .training import JobConflict

__all__ = ["ApiError", "MAX_UPLOAD", "read_body", "routes"]

#: The largest request body the playground reads (bytes).
MAX_UPLOAD = 5 * 1024 * 1024
#: Uploaded photos for the Kernels page are shrunk to this longest side.
KERNEL_IMAGE_SIDE = 512


class ApiError(Exception):
    """A request the playground refuses: ``status`` (4xx) and a message for the page."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def error_response(status, message):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status)


def endpoint(function):
    """Run the (synchronous) ``function(request, body)`` in a worker thread,
    reading at most :data:`MAX_UPLOAD` bytes of body first, and turn the
    library's complaints about the request into 4xx JSON errors."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, Response

    from ..runs.errors import RunConfigError
    from ..train.checkpoint import CheckpointError

    @functools.wraps(function)
    async def wrapper(request):
        try:
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
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

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


def _pair_option(value):
    if isinstance(value, list) and len(value) == 2:
        return tuple(value)
    return value


def kernel(request, body):
    from ..kernels import apply, output_shape

    options = _json(body)
    unknown = sorted(set(options) - {"kernel", "mode", "padding", "stride", "dilation", "image"})
    if unknown:
        raise ApiError(400, f"unknown kernel options {unknown}")
    matrix = options.get("kernel", "identity")
    if isinstance(matrix, list) and (len(matrix) > 15 or any(
            not isinstance(row, list) or len(row) > 15 for row in matrix)):
        raise ApiError(400, "the kernel may be at most 15x15")
    padding = _pair_option(options.get("padding", "same"))
    stride = _pair_option(options.get("stride", 1))
    dilation = _pair_option(options.get("dilation", 1))
    for name, value in (("stride", stride), ("dilation", dilation), ("padding", padding)):
        if isinstance(value, int) and value > 64:
            raise ApiError(400, f"{name} may be at most 64, got {value}")
    image = _kernel_image(options.get("image"))
    out = apply(image, matrix, mode=options.get("mode", "correlate"), padding=padding,
                stride=stride, dilation=dilation)
    from ..kernels import KERNELS

    weight = KERNELS[matrix] if isinstance(matrix, str) else xp.asarray(matrix)
    size = output_shape(image.shape, weight.shape, padding=padding, stride=stride,
                        dilation=dilation)
    return {"input_shape": list(image.shape[:2]), "output_shape": list(out.shape[:2]),
            "formula_shape": list(size), "min": float(out.min()), "max": float(out.max()),
            "image": pictures.png_data_url((xp.clip(out, 0, 1) * 255 + 0.5).astype(xp.uint8))}


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


@functools.lru_cache(maxsize=32)
def _summary(name, shape, depth):
    from .. import models
    from ..runs.checks import check_input_size
    from ..summary import summary

    options = {}
    if shape is not None and "in_channels" in models.model_options(name):
        options["in_channels"] = shape[0]
    model = models.create(name, **options)
    shape = tuple(shape or model.input_shape)
    check_input_size(model, shape, name=name,
                     suggest=lambda usable: "input " + ",".join(map(str, usable)))
    result = summary(model, shape, depth=depth)
    rows = [{"name": layer.name, "type": layer.type, "depth": layer.depth,
             "output_shape": layer.output_shape, "params": layer.num_params,
             "mult_adds": layer.mult_adds, "receptive_field": layer.receptive_field}
            for layer in result.layers if layer.is_leaf]
    return {"model": name, "input_shape": list(shape), "rows": rows,
            "total_params": result.total_params, "trainable_params": result.trainable_params,
            "total_mult_adds": result.total_mult_adds,
            "activations_mb": result.activation_bytes / 1e6,
            "params_mb": result.param_bytes / 1e6}


def model_summary(request, body):
    from ..models.registry import get_model_factory

    name = request.query_params.get("model", "")
    if not name:
        raise ApiError(400, "give a model: /api/summary?model=lenet5&input=1,28,28")
    get_model_factory(name)  # an unknown name is a 400 naming the zoo
    text = request.query_params.get("input", "")
    shape = _input_shape(text) if text else None
    return _summary(name, shape, 99)


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


def routes():
    from starlette.routing import Route

    get, post = ["GET"], ["POST"]
    table = [
        ("/api/health", health, get), ("/api/model", model_info, get),
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
    return ([Route(path, endpoint(function), methods=methods) for path, function, methods in table]
            + [Route("/api/train/stream", train_stream, methods=get)])
