"""A fork server for the crash test: imports tidal.service once, then forks a service per start.

Importing scikit-learn (via tidal.base) takes seconds on a loaded machine; forking a warmed-up
process makes 20+ restarts affordable. Each service is still a separate process, killed with a
real SIGKILL, recovering from the files on disk like any fresh start.

Protocol (one line each way): ``start PORT DATA LOG`` -> ``pid N``; ``wait PID`` -> ``status N``.
"""

from __future__ import annotations

import os
import sys


def _warm() -> None:
    from tidal import zoo

    # load the compiled kernels into this process so children inherit them
    zoo.make("lr").learn_many([{"a": 0.0, "b": 1.0, "c": 2.0}] * 2, [0, 1]).predict_many(
        [{"a": 0.0, "b": 1.0, "c": 2.0}]
    )


def _child(port: int, data: str, log: str, extra: list[str]) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    code = 0
    try:
        from tidal.service.__main__ import main

        main(["--data", data, "--port", str(port), *extra])
    except BaseException as e:  # noqa: BLE001
        print(f"service failed: {e!r}", flush=True)
        code = 1
    os._exit(code)


def serve() -> None:
    import tidal.service  # noqa: F401

    _warm()
    print("ready", flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "start":
            port, data, log, *extra = args
            pid = os.fork()
            if pid == 0:
                _child(int(port), data, log, extra)
            print(f"pid {pid}", flush=True)
        elif cmd == "wait":
            _, status = os.waitpid(int(args[0]), 0)
            print(f"status {status}", flush=True)


if __name__ == "__main__":
    serve()
