"""A fingerprint of a directory tree, to show that a command changed nothing."""
import hashlib
import os


def tree(root):
    """{relative path: SHA-256} of every file under ``root`` (hidden ones
    included) and {relative path + "/": "dir"} of every directory."""
    files = {}
    for folder, dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
        for name in dirs:
            files[os.path.relpath(os.path.join(folder, name), root) + "/"] = "dir"
    return files
