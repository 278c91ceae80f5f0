"""The playground's Starlette application: the API routes, the page, and
the guard in front of them.

The guard (:class:`Guard`, plain ASGI) refuses, before any route runs:

* a ``Host`` header naming anything but the bound address or ``localhost``
  (403): a web page elsewhere cannot reach this server through DNS
  rebinding, where a hostile name is made to resolve to 127.0.0.1;
* a declared body larger than :data:`~striate.playground.api.MAX_UPLOAD` (413);
* a state-changing request (any method but GET, HEAD, OPTIONS) that another
  site could have sent (403): its ``Origin`` must be this server's own, its
  ``Sec-Fetch-Site`` (where the browser sends one) ``same-origin`` or
  ``none``, and its ``Content-Type`` one that a page elsewhere cannot send
  without asking first (``application/json`` or an image type): the
  ``text/plain``, form and multipart bodies that any page may post
  cross-site without a preflight are refused;

and it adds headers that keep the page to its own files (no script, style
or font from anywhere else).
"""
import json
import os
import threading

from . import api
from .served import ServedModel, Unavailable, latest_run, list_runs
from .training import JobConflict, TrainingJob

__all__ = ["create_app", "Guard", "Playground", "STATIC_DIR", "LOOPBACK"]

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: Body types a page may send only to its own server (others need a CORS preflight).
BODY_TYPES = ("application/json", "image/png", "image/jpeg", "image/webp", "image/gif",
              "image/bmp")
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
     b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def host_name(header):
    """The host of a ``Host`` header, lower case, without port or brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def cross_site(headers, host):
    """Why a state-changing request with these ``headers`` (bytes to bytes)
    may come from another site, or None when it comes from this page."""
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
    if site and site not in ("same-origin", "none"):
        return (f"a {site} request is refused: only the playground's own page may change "
                "its state (Sec-Fetch-Site)")
    origin = headers.get(b"origin", b"").decode("latin-1").strip()
    if origin:
        scheme, _, rest = origin.partition("://")
        if scheme not in ("http", "https") or rest.lower() != host.strip().lower():
            return (f"a request from {origin!r} is refused: only the playground's own page "
                    f"(http://{host}) may change its state (Origin)")
    kind = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
    if kind not in BODY_TYPES:
        return (f"a request body of type {kind or 'none'!r} is refused: send application/json "
                "(or an image for /api/predict and /api/explain)")
    return None


class Guard:
    """ASGI middleware: host check, declared-size check, security headers."""

    def __init__(self, app, allowed_hosts, max_body):
        self.app = app
        self.allowed = {host_name(h) for h in allowed_hosts}
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if host_name(host) not in self.allowed:
            return await self._refuse(send, 403, f"requests for host {host!r} are refused: "
                                                 "this server answers only "
                                                 f"{', '.join(sorted(self.allowed))}")
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            return await self._refuse(send, 413, api.too_large(int(declared)))
        if scope["method"] not in SAFE_METHODS:
            refused = cross_site(headers, host)
            if refused:
                return await self._refuse(send, 403, refused)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", []))
                           + SECURITY_HEADERS}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _refuse(send, status, message):
        body = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")] + SECURITY_HEADERS})
        await send({"type": "http.response.body", "body": body})


class Playground:
    """The server's state: the served model, the runs root, the training job.

    The served model changes only when the learner picks a run
    (:meth:`select`): a run the Train page finishes is listed, not served.
    The one exception is a server with no model at all: its first finished
    run is served, so that the Draw and Inspect pages have something to show.
    ``run_dir`` is served first; without it the latest run under
    ``runs_root``. With no run at all, the first request that needs a model
    starts training the default LeNet-5 on the embedded digits
    (``train_default``).
    """

    def __init__(self, run_dir=None, runs_root="runs", train_default=True):
        self.runs_root = runs_root
        self.train_default = train_default
        self.job = TrainingJob(runs_root, on_finish=self._trained)
        self._served = None
        self._lock = threading.Lock()
        if run_dir is not None:
            self._served = ServedModel(run_dir)
        else:
            latest = latest_run(runs_root)
            if latest is not None:
                self._served = ServedModel(latest)
        self.fixed_run = self._served.run_dir if self._served is not None else None

    def current(self):
        return self._served

    def served(self):
        """The served model; :class:`Unavailable` while there is none yet."""
        if self._served is not None:
            return self._served
        if self.train_default and not self.job.running:
            try:
                self.job.start({})
            except JobConflict:
                pass
        if self.job.running:
            raise Unavailable("there is no trained model yet: a model is training (follow it "
                              "on the Train page); this page will use it when it is done")
        raise Unavailable(f"there is no trained model under {self.runs_root}; train one on the "
                          "Train page")

    def runs(self):
        """The runs a learner may serve, newest first (see :func:`list_runs`)."""
        served = self._served.run_dir if self._served is not None else None
        listed = list_runs(self.runs_root, extra=[d for d in (self.fixed_run, served) if d])
        for entry in listed:
            entry["served"] = served is not None and os.path.samefile(entry["path"], served)
        return [{k: v for k, v in entry.items() if k != "path"} for entry in listed]

    def select(self, name):
        """Serve the listed run called ``name`` (a name, never a path)."""
        served = self._served.run_dir if self._served is not None else None
        listed = {entry["run"]: entry["path"]
                  for entry in list_runs(self.runs_root,
                                         extra=[d for d in (self.fixed_run, served) if d])}
        if not isinstance(name, str) or name not in listed:
            raise ValueError(f"there is no run {name!r} to serve; the runs are {sorted(listed)}")
        model = ServedModel(listed[name])
        with self._lock:
            self._served = model
        return model

    def _trained(self, run_dir):
        with self._lock:
            if self._served is None:
                self._served = ServedModel(run_dir)


def create_app(run_dir=None, runs_root="runs", host="127.0.0.1", allowed_hosts=(),
               train_default=True):
    """The ASGI app. ``host`` is the address the server binds; requests must
    name it, a loopback name, or one of ``allowed_hosts`` in their ``Host``
    header. Loading ``run_dir`` fails here (before serving) if it is broken."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def index(request):
        return FileResponse(os.path.join(STATIC_DIR, "index.html"))

    async def http_error(request, error):
        return api.error_response(error.status_code, error.detail or "request refused")

    async def internal_error(request, error):
        return api.error_response(500, f"internal error ({type(error).__name__}); the server's "
                                       "log has the details")

    routes = api.routes() + [Route("/", index, methods=["GET"]),
                             Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")]
    app = Starlette(routes=routes,
                    exception_handlers={HTTPException: http_error, Exception: internal_error},
                    middleware=[Middleware(Guard, allowed_hosts=(host, *LOOPBACK, *allowed_hosts),
                                           max_body=api.MAX_UPLOAD)])
    app.state.playground = Playground(run_dir=run_dir, runs_root=runs_root,
                                      train_default=train_default)
    return app
