"""Shared by the playground tests: one trained LeNet-5 per test session and
a real uvicorn server on 127.0.0.1 and a free port, in a thread."""
import atexit
import functools
import os
import shutil
import socket
import tempfile
import threading
import time


@functools.lru_cache(maxsize=None)
def trained_runs_root():
    """A runs root holding ``lenet5-digits``: LeNet-5 trained by ``striate
    train`` for 3 epochs on the embedded digits (good enough to read a drawn
    1 and 0). Made once per session; removed at exit."""
    from striate.cli.main import main

    root = tempfile.mkdtemp(prefix="striate-playground-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    code = main(["train", "--epochs", "3", "--out", os.path.join(root, "lenet5-digits"),
                 "--no-progress"])
    assert code == 0, "training the playground's test model failed"
    return root


class Server:
    """``app`` served by uvicorn on 127.0.0.1 and a free port until :meth:`stop`."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the playground server did not start"
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def serve_playground(runs_root):
    """A playground serving the trained LeNet-5 run, with ``runs_root`` for new
    runs (a generator for a pytest fixture: yields the server, then stops its
    training job and the server)."""
    from striate.playground import create_app

    app = create_app(run_dir=os.path.join(trained_runs_root(), "lenet5-digits"), runs_root=runs_root)
    server = Server(app)
    server.app = app
    yield server
    app.state.playground.job.stop()
    app.state.playground.job.wait(30)
    server.stop()


def drawn_digit_png(digit, size=280):
    """A PNG of a 1 (a vertical stroke) or a 0 (a ring), black ink on white,
    drawn with Pillow the way a mouse would draw it on the canvas."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(image)
    if digit == 1:
        pen.line([(size // 2, size // 7), (size // 2, 6 * size // 7)], fill=0, width=size // 14)
    else:
        pen.ellipse([size // 4, size // 7, 3 * size // 4, 6 * size // 7], outline=0,
                    width=size // 14)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
