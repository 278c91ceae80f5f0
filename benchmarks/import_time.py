"""How long `import striate` takes in a fresh interpreter (budget: 0.3 s), and
what it loads beyond the standard library and NumPy.

    python benchmarks/import_time.py
"""
import subprocess
import sys

CODE = """
import sys, time
before = set(sys.modules)
t = time.perf_counter()
import striate
elapsed = time.perf_counter() - t
new = sorted({m.split('.')[0] for m in set(sys.modules) - before})
print(f"{elapsed:.4f}")
print(' '.join(new))
"""


def main(repeats=7):
    times, modules = [], ""
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
        seconds, modules = out.stdout.splitlines()
        times.append(float(seconds))
    print(f"import striate: best {min(times) * 1000:.0f} ms, median {sorted(times)[len(times) // 2] * 1000:.0f} ms "
          f"over {repeats} fresh interpreters (budget 300 ms)")
    print(f"top-level packages loaded: {modules}")


if __name__ == "__main__":
    main()
