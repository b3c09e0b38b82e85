"""/metrics in Prometheus's text format (prometheus-client), for an operator's scraper:

- from the database, the same in every process (storage/monitoring.py, read at each scrape):
  reports received by channel and priority, open unacknowledged reports, the outbox's depth
  and oldest pending age per kind, failed deliveries by reason, running broadcasts' progress,
  and the time from a report to its first alert and to its acknowledgement (histograms over
  the reports of the last WINDOW);
- this process's own: inbound messages handled and how long each took, by channel; each
  channel's errors (polling, webhook, sending) and whether it is up.

Served behind `[metrics] token` on the web server, or on a port of its own (bot/service.py)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.app import App
from bot.delivery import Health
from handlers.conversation.messages import Inbound
from storage import monitoring

WINDOW = timedelta(days=30)
# Seconds: an urgent alert should leave within seconds, acknowledgements take minutes.
DELAY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    def __init__(self, app: App, channels: Sequence[tuple[str, Health]] = ()) -> None:
        self.app = app
        self.channels = channels
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "sigap_inbound_messages",
            "Messages from residents and members handled by this process.",
            ["channel"],
            registry=self.registry,
        )
        self.handling = Histogram(
            "sigap_inbound_handling_seconds",
            "Time this process took to handle an inbound message (one transaction).",
            ["channel"],
            buckets=HANDLING_BUCKETS,
            registry=self.registry,
        )
        self.stored = Stored()
        self.registry.register(self.stored)
        self.registry.register(ChannelHealth(channels))

    def handled(self, inbound: Inbound, seconds: float) -> None:
        channel = str(inbound.channel)
        self.inbound.labels(channel).inc()
        self.handling.labels(channel).observe(seconds)

    def allowed(self, request: Request) -> bool:
        token = self.app.settings.metrics.token
        if not token:
            return True  # a port of its own
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return bool(given) and hmac.compare_digest(given.encode(), token.encode())

    async def page(self, request: Request) -> Response:
        if not self.allowed(request):
            return PlainTextResponse("a token is needed\n", status_code=401)
        since = self.app.services.clock() - WINDOW
        async with self.app.db.read() as session:
            self.stored.figures = await monitoring.figures(session, since)
        self.stored.now = self.app.services.clock()
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class Stored(Collector):
    """The database's figures as read by the latest scrape (collect() cannot wait for the
    database: Metrics.page reads them first)."""

    def __init__(self) -> None:
        self.figures: monitoring.Figures | None = None
        self.now: datetime | None = None

    def collect(self) -> Iterable[Metric]:
        found = self.figures
        if found is None:
            return
        reports = CounterMetricFamily(
            "sigap_reports", "Reports received.", labels=["channel", "priority"]
        )
        for (channel, priority), count in sorted(found.reports.items()):
            reports.add_metric([channel, priority], count)
        yield reports
        yield GaugeMetricFamily(
            "sigap_reports_unacknowledged",
            "New reports nobody has acknowledged yet.",
            value=found.unacknowledged,
        )
        depth = GaugeMetricFamily(
            "sigap_outbox_pending", "Messages waiting to be sent, by kind.", labels=["kind"]
        )
        age = GaugeMetricFamily(
            "sigap_outbox_oldest_pending_seconds",
            "How long the oldest message waiting to be sent has waited, by kind.",
            labels=["kind"],
        )
        for kind, (count, oldest) in sorted(found.pending.items()):
            depth.add_metric([kind], count)
            if self.now is not None:
                age.add_metric([kind], max(0.0, (self.now - oldest).total_seconds()))
        yield depth
        yield age
        failed = CounterMetricFamily(
            "sigap_deliveries_failed",
            "Messages that could not be delivered, by the provider's reason.",
            labels=["reason"],
        )
        for reason, count in sorted(found.failed.items()):
            failed.add_metric([reason], count)
        yield failed
        progress = GaugeMetricFamily(
            "sigap_broadcast_messages",
            "A running broadcast's messages, by state (and its recipients).",
            labels=["broadcast", "state"],
        )
        for broadcast_id, (recipients, states) in sorted(found.broadcasts.items()):
            progress.add_metric([str(broadcast_id), "recipients"], recipients)
            for state, count in sorted(states.items()):
                progress.add_metric([str(broadcast_id), state], count)
        yield progress
        yield histogram(
            "sigap_report_first_alert_seconds",
            "From a report to its first alert, reports of the last 30 days.",
            found.to_first_alert,
        )
        yield histogram(
            "sigap_report_acknowledgement_seconds",
            "From a report to its acknowledgement, reports of the last 30 days.",
            found.to_acknowledgement,
        )


def histogram(name: str, documentation: str, values: Sequence[float]) -> HistogramMetricFamily:
    buckets = [(str(float(b)), sum(1 for v in values if v <= b)) for b in DELAY_BUCKETS]
    buckets.append(("+Inf", len(values)))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=sum(values))


class ChannelHealth(Collector):
    def __init__(self, channels: Sequence[tuple[str, Health]]) -> None:
        self.channels = channels

    def collect(self) -> Iterable[Metric]:
        errors = CounterMetricFamily(
            "sigap_channel_errors",
            "Failed requests to a channel's provider by this process (polling, webhook set-up, "
            "sending).",
            labels=["channel"],
        )
        up = GaugeMetricFamily(
            "sigap_channel_up", "1 while the channel's last request succeeded.", labels=["channel"]
        )
        for name, health in self.channels:
            errors.add_metric([name], health.errors)
            up.add_metric([name], 0 if health.failing_since else 1)
        yield errors
        yield up
