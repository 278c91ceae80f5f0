"""``striate playground``: the library behind a local web page (see
:mod:`striate.playground`)."""
import argparse
import sys

from .common import UsageError

#: What the playground needs beyond numpy, as module -> PyPI name.
NEEDS = {"starlette": "starlette", "uvicorn": "uvicorn", "PIL": "Pillow",
         "safetensors": "safetensors"}
INSTALL = 'pip install "striate[playground]"'


def register(subparsers):
    parser = subparsers.add_parser(
        "playground", help="a local web app: draw digits, edit kernels, train, look inside",
        description="Serve the playground on http://127.0.0.1:PORT/: draw a digit and see the "
                    "model's prediction, feature maps, saliency and Grad-CAM; edit an image "
                    "kernel; train a model with live curves; inspect a run; read a model's "
                    "summary table. Without --run it serves the latest run under --runs, or "
                    "trains the default LeNet-5 on the embedded digits on first use.")
    parser.add_argument("--port", type=_port, default=8765,
                        help="TCP port (default 8765; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only; any other "
                             "address lets the network in, and is warned about)")
    parser.add_argument("--run", metavar="RUN_DIR",
                        help="serve the model of this run directory (default: the latest "
                             "under --runs)")
    parser.add_argument("--runs", default="runs", metavar="DIR",
                        help="where runs trained from the page go, and where the latest run "
                             "is looked for (default ./runs)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="also answer requests whose Host header is NAME (repeatable; "
                             "by default only the bound address and localhost)")
    parser.add_argument("--open", action="store_true",
                        help="open the page in the default web browser")
    parser.set_defaults(handler=run)


def _port(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {value}")
    return value


def is_loopback(host):
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args):
    from ..runs.checks import missing_package

    absent = [name for module, name in NEEDS.items() if missing_package(module)]
    if absent:
        raise UsageError(f"striate playground needs {', '.join(absent)}, which is not "
                         f"installed. Install it with: {INSTALL}")
    import socket

    import uvicorn

    from ..playground import create_app

    app = create_app(run_dir=args.run, runs_root=args.runs, host=args.host,
                     allowed_hosts=args.allow_host)
    if not is_loopback(args.host):
        print(f"warning: binding {args.host}: anyone who can reach this machine on port "
              f"{args.port} can use the playground and start training jobs", file=sys.stderr)
    try:  # bind here, so that a busy port is one clear line, not a uvicorn log
        sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host.strip("[]"), args.port))
        sock.listen(128)  # connections queue from here on, while uvicorn starts
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") \
            from None
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/"
    served = app.state.playground.current()
    print(f"striate playground on {url} (model: {served.name if served else 'none yet'}; "
          "Ctrl+C stops it)")
    if args.open:
        import webbrowser

        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
    return 0
