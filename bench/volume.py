"""Child process: make N identical chat calls under one configuration, then flush and exit.

``python -m bench.volume --config X --calls 1000 --standin URL --ingest URL``. The parent reads
what reached the loopback ingestion endpoint (compressed bytes on the wire, and the envelopes).
"""

from __future__ import annotations

import argparse

from . import configs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=configs.VOLUME_CONFIGS, required=True)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--standin", required=True)
    p.add_argument("--ingest", required=True)
    p.add_argument("--regime", choices=configs.REGIMES, default=configs.ALL)
    args = p.parse_args(argv)
    # one metric export, at shutdown: what one 60-second interval holds for these calls
    setup, wrap = configs.setup(
        args.config,
        args.ingest,
        metric_interval_ms=3_600_000,
        standin_url=args.standin,
        regime=args.regime,
    )
    call = configs.chat_call(configs.client(args.standin), wrap)
    for _ in range(args.calls):
        call()
    setup.flush()
    setup.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
