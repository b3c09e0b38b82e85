"""The scheduler runs each job of JOBS as often as its line says."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from bot import scheduler
from bot.app import App
from bot.outbox import Delivery
from bot.scheduler import Job, Jobs
from tests.support.clock import Clock


async def nothing(_jobs: Jobs) -> None:
    pass


async def test_a_job_runs_as_often_as_its_line_says_also_under_a_second(
    app: App, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job every 250 ms runs four times a second (a whole-seconds conversion of its
    interval made it 0, which the scheduler turned into once a second)."""
    often = Job("often", timedelta(milliseconds=250), nothing)
    monkeypatch.setattr(scheduler, "JOBS", [*scheduler.JOBS, often])
    jobs = Jobs(app.services, Delivery(app.services, {}))
    assert jobs.registered() == [job.name for job in scheduler.JOBS]
    for job in scheduler.JOBS:
        trigger = jobs.scheduler.get_job(job.name).trigger
        runs = [trigger.get_next_fire_time(None, clock.now)]
        for _ in range(4):
            runs.append(trigger.get_next_fire_time(runs[-1], runs[-1]))
        assert [b - a for a, b in pairwise(runs)] == [job.every] * 4, job.name
