"""The batch's stored state: run history (whose last success holds the watermark) and model fingerprints.

Tables from `clickhouse/migrations/0100_batch_state.sql`. Nothing here is written before a batch
has published, so a failed batch leaves the watermark and fingerprints as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from batch.run_report import BatchReport

SUCCESS = "success"
FAILED = "failed"


def watermark(client: Client) -> datetime | None:
    """Landing time up to which the last successful batch processed, or None before the first."""
    value: datetime | None = client.query("SELECT maxOrNull(watermark) FROM batch_runs WHERE status = {status:String}",
                                          parameters={"status": SUCCESS}).result_rows[0][0]
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def deployed_fingerprints(client: Client) -> dict[str, str]:
    """The fingerprint each model was last built in full from."""
    rows = client.query("SELECT model, argMax(fingerprint, built_at) FROM batch_models GROUP BY model")
    return {model: fingerprint for model, fingerprint in rows.result_rows}


def record_fingerprints(client: Client, fingerprints: Mapping[str, str], built_at: datetime) -> None:
    """Remember the fingerprints models were just built in full from."""
    if fingerprints:
        client.insert("batch_models", [[model, fingerprint, built_at] for model, fingerprint in fingerprints.items()],
                      column_names=["model", "fingerprint", "built_at"])


def record_run(client: Client, report: BatchReport) -> None:
    """Store a finished batch: the run (with its watermark when it succeeded) and its models."""
    finished = report.finished_at or report.started_at
    client.insert("batch_runs", [[report.run_id, report.mode, SUCCESS if report.succeeded else FAILED,
                                  report.started_at, finished, report.since, report.watermark, report.error]],
                  column_names=["run_id", "mode", "status", "started_at", "finished_at", "since", "watermark", "error"])
    if report.models:
        client.insert("batch_model_runs",
                      [[report.run_id, m.model, m.kind, str(m.action), m.rows, m.partitions, m.seconds, m.fingerprint,
                        finished] for m in report.models],
                      column_names=["run_id", "model", "kind", "action", "rows", "partitions", "seconds",
                                    "fingerprint", "finished_at"])
