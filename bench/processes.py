"""Inbound throughput of 2 `sigap run` processes against 1, behind nginx, on one PostgreSQL
database: Telegram updates posted to the webhook through nginx (round robin over the
processes), each a /bantuan from a new chat, answered by Sigap through the fake Bot API. The
load generator, the fake Bot API (its limits lifted, as are Sigap's) and each `sigap run`
are processes of their own; nginx is the system's binary, run in the foreground. Throughput
is counted from the first update posted to the last answer received by the fake.

    python3 dev.py bench processes [--updates 3000] [--concurrency 64]
        [--database-url postgresql+psycopg://127.0.0.1:5432/test]

Everything runs on this machine: with 2 cores, the processes of Sigap share them with
PostgreSQL, nginx, the fake and the load generator (the load is printed with the figures).
Each run prints the CPU an update cost each of them, read from /proc over the measure, and
the ratio's ceiling on this machine: every core busy at the CPU an update cost with one
process. The ratio can reach 2 only where the rest costs nothing beside Sigap.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.common import fresh_database
from bench.separate import Fake, Generator, generator, healthy, machine_cpu, sigap_config
from tests.support.nginx import Nginx, free_port

DEFAULT_DATABASE = "postgresql+psycopg://127.0.0.1:5432/test"
WARM_UP = 200  # updates before the measure: connections opened, caches filled


async def measure(
    processes: int, arguments: argparse.Namespace, folder: Path, fake: Fake
) -> dict[str, float]:
    """`processes` of `sigap run` behind nginx on a new database; the figures."""
    run_folder = folder / f"run{processes}"
    run_folder.mkdir()
    base = arguments.database_url
    async with fresh_database(base, run_folder, f"processes{processes}") as database:
        ports = [free_port() for _ in range(processes)]
        nginx = Nginx(run_folder / "nginx", ports)
        running: list[asyncio.subprocess.Process] = []
        try:
            await nginx.start()
            for port in ports:  # one after the other: the first migrates the database
                path = sigap_config(run_folder, database, port, nginx.url, fake.origin)
                with (run_folder / f"sigap-{port}.log").open("ab") as log:
                    running.append(
                        await asyncio.create_subprocess_exec(
                            *[sys.executable, "-m", "bot.cli", "run", "--config", str(path)],
                            stdout=log,
                            stderr=log,
                        )
                    )
                await healthy(f"http://127.0.0.1:{port}")
            hook = nginx.url + "/telegram/webhook"
            offset = 10_000_000 * processes
            before = (await fake.sent())["messages"]
            await generator(hook, WARM_UP, offset, arguments.concurrency)
            await fake.until_sent(before + 2 * WARM_UP)  # each /bantuan: 2 messages
            before = (await fake.sent())["messages"]
            pids = {"sigap": [process.pid for process in running], "fake": [fake.pid]}
            posting = await Generator.ready(
                hook, arguments.updates, offset + WARM_UP, arguments.concurrency
            )
            cpu_before, began = machine_cpu(**pids), time.monotonic()
            bench_before = time.process_time()
            posted, generator_cpu = await posting.go()
            await fake.until_sent(before + 2 * arguments.updates)
            wall = time.monotonic() - began
            cpu = {name: used - cpu_before[name] for name, used in machine_cpu(**pids).items()}
            cpu |= {"generator": generator_cpu, "bench": time.process_time() - bench_before}
            upstreams = nginx.upstreams()
        finally:
            for process in running:
                process.send_signal(signal.SIGTERM)
            for process in running:
                try:
                    await asyncio.wait_for(process.wait(), 60)
                except TimeoutError:
                    process.kill()
            await nginx.stop()
            report_errors(run_folder, ports, nginx)
    figures = {
        "per_second": arguments.updates / wall,
        "posting_per_second": arguments.updates / posted,
        "cpu_per_update": cpu["machine"] / arguments.updates,
    }
    share = ", ".join(f"{a}: {n}" for a, n in sorted(upstreams.items()))
    print(
        f"{processes} process(es): {figures['per_second']:7.0f} updates/s answered "
        f"({figures['posting_per_second']:.0f}/s posted), {arguments.updates} answered in "
        f"{wall:.1f} s; requests by upstream: {share}"
    )
    machine = cpu.pop("machine")
    cpu["other"] = machine - sum(cpu.values())  # the machine's own services, the kernel's work
    print(
        "  CPU ms an update: "
        + ", ".join(f"{name} {1000 * used / arguments.updates:.1f}" for name, used in cpu.items())
        + f"; all {1000 * machine / arguments.updates:.1f}; cores busy {machine / wall:.2f}"
    )
    return figures


def report_errors(folder: Path, ports: list[int], nginx: Nginx) -> None:
    for port in ports:
        logged = (folder / f"sigap-{port}.log").read_text()
        failures = [line for line in logged.splitlines() if " ERROR " in line]
        if failures:
            print(f"sigap on {port} logged {len(failures)} error(s): {failures[0]}")
    errors = [line for line in nginx.errors().splitlines() if "[error]" in line]
    if errors:
        print(f"nginx logged {len(errors)} error(s), the first: {errors[0]}")


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        async with Fake() as fake:
            print(
                f"{arguments.updates} updates, {arguments.concurrency} at a time, through nginx "
                f"on PostgreSQL; each is /bantuan from a new chat; {os.cpu_count()} cores; "
                f"load before: {os.getloadavg()[0]:.2f}"
            )
            one = await measure(1, arguments, folder, fake)
            two = await measure(2, arguments, folder, fake)
    # Every core busy at the CPU an update cost the whole machine with one process (Sigap,
    # PostgreSQL, nginx, the fake, the generator and what else runs here): the most updates a
    # second any number of processes could answer on this machine.
    ceiling = (os.cpu_count() or 1) / one["cpu_per_update"] / one["per_second"]
    print(
        f"ratio 2/1: {two['per_second'] / one['per_second']:.2f} (goal 1.7); the machine's "
        f"ceiling for it: {ceiling:.2f} (all {os.cpu_count()} cores busy at 1 process's CPU "
        f"an update); load after: {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    asyncio.run(main(parser.parse_args()))
