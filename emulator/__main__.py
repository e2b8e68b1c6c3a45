"""`python -m emulator --config emulator/sample.yaml`: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path

from emulator.config import ConfigError
from emulator.server import Emulator

DEFAULT_CONFIG = Path(__file__).with_name("sample.yaml")


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="emulator YAML (default: %(default)s)")
    parser.add_argument("--port-arm", type=_port, default=0, help="ARM HTTPS port (default: a free one)")
    parser.add_argument(
        "--port-kube-base",
        type=_port,
        default=0,
        help="first Kubernetes API port; cluster i listens on base+i (default: free ports)",
    )
    parser.add_argument("--workdir", help="where the certificate and kubeconfigs go (default: a temporary directory)")
    args = parser.parse_args(argv)
    try:
        emulator = Emulator(
            args.config, arm_port=args.port_arm, kube_port_base=args.port_kube_base, workdir=args.workdir
        )
        emulator.start()
    except ConfigError as error:
        print(f"emulator: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"emulator: cannot listen: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(
        f"ARM:        {emulator.arm_url}  (subscription {emulator.subscription}, "
        f"resource group {emulator.resource_group})"
    )
    print(f"CA cert:    {emulator.ca_cert}")
    print(f"kubeconfig: {emulator.kubeconfig}  (contexts: {', '.join(c.name for c in emulator.config.clusters)})")
    for cluster in emulator.config.clusters:
        print(f"  {cluster.name}: {emulator.kube_url(cluster.name)}")
    print("\n# export these to point the app at the emulator:")
    for key, value in emulator.env().items():
        print(f"export {key}={shlex.quote(value)}")
    print("\nCtrl-C stops.", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
