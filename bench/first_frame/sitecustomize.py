"""Put on ``PYTHONPATH`` by ``bench_tui.py --instructions``: the process ends the moment Textual
sends the terminal the first frame that shows ``PREPFLOOR_BENCH_STOP_AT``, so that valgrind counts
the instructions of the cold start and nothing after it.  Does nothing without that variable."""

import os

if os.environ.get("PREPFLOOR_BENCH_STOP_AT"):
    import builtins
    import sys

    _needle = os.environ["PREPFLOOR_BENCH_STOP_AT"]
    _import = builtins.__import__

    def _stop_at_the_frame() -> None:
        from textual.drivers.linux_driver import LinuxDriver

        write = LinuxDriver.write

        def written(self: LinuxDriver, data: str) -> None:
            write(self, data)
            if _needle in data:
                os._exit(0)

        LinuxDriver.write = written  # type: ignore[method-assign]

    def _watching(name: str, *args: object, **kwargs: object) -> object:
        module = _import(name, *args, **kwargs)  # type: ignore[arg-type]
        found = sys.modules.get("textual.drivers.linux_driver")
        if found is not None and hasattr(found, "LinuxDriver"):
            builtins.__import__ = _import  # once: every later import as usual
            _stop_at_the_frame()
        return module

    builtins.__import__ = _watching  # type: ignore[assignment]
