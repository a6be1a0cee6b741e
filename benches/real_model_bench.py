#!/usr/bin/env python3
"""Runs a fixed set of plans and suggestions through a running Lotara service
and writes one Markdown table row per job (issue 18, point 10).

Stdlib only. Started by benches/real-model.sh, which brings up llama-server
and the service; it can also be pointed at any service by hand:

    python3 benches/real_model_bench.py --url http://127.0.0.1:8000 \
        --model smollm2 [--llama-url http://127.0.0.1:8080] [--deadline 600]

Jobs run one at a time, so that the figures of one job are not shared with
another's. For each job it records the outcome (`completed`,
`awaiting_approval` — counted as finished — `failed` with the error's code and
message, `cancelled`, or `timeout` when the deadline passed, after which the
job is cancelled), the wall time from the POST to that outcome, the LLM calls
and tokens, whether any number in the plan (or the approval data) is negative
or not finite, and whether any response of the service was a 5xx.

LLM calls and tokens come from the job status's `usage` when the service
reports it there. Otherwise they are the difference across the job of the
service's `/metrics` (`lotara_llm_calls_total`, `lotara_llm_tokens_total`) and,
for the prompt/completion split, of llama-server's `/metrics`
(`llamacpp:prompt_tokens_total`, `llamacpp:tokens_predicted_total`; counted by
the server, so they include calls the service abandoned) — exact because jobs
run one at a time and the service's scheduler is off; such tokens are marked
ᵐ in the table. With --service-log, the retries the service logged during the
job are counted too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request

TERMINAL = {"completed", "failed", "cancelled"}

# Keys whose numbers may be negative in a correct plan (coordinates, offsets).
SIGNED_KEYS = {"lat", "lon", "lng", "latitude", "longitude", "utc_offset", "utc_offset_hours", "tz_offset"}


def plans() -> list[dict]:
    return [
        {"name": "tokyo", "path": "/v1/plan",
         "body": {"query": "5-day trip to Tokyo for under $3000"}},
        {"name": "danang-vi", "path": "/v1/plan",
         "body": {"query": "Đi Đà Nẵng 4 ngày cho 2 người, ngân sách 15 triệu"}},
        {"name": "family", "path": "/v1/plan",
         "body": {"query": "Family trip to Bali in July for 2 adults and 2 kids, 7 days, "
                           "kid-friendly beaches and not too much walking, from Singapore"}},
        {"name": "vague", "path": "/v1/plan",
         "body": {"query": "Somewhere warm with beaches for 10 days in January, 2 of us"}},
        {"name": "multi-city", "path": "/v1/plan",
         "body": {"query": "12 days from London: 4 days in Paris, 4 in Rome, then 4 in Barcelona, "
                           "museums and food"}},
        {"name": "over-budget", "path": "/v1/plan",
         "body": {"query": "A week in New York for 2 people from Sydney, luxury hotel, budget $900",
                  "constraints": {"budget_usd": 900}}},
    ]


def suggestions() -> list[dict]:
    today = dt.date.today()
    gap_start = today + dt.timedelta(days=40)
    gap_end = gap_start + dt.timedelta(days=5)
    return [
        {"name": "price-drop", "path": "/v1/suggest",
         "body": {"trigger_type": "price_drop",
                  "context": {"route": "LAX->NRT", "old_price": 850, "new_price": 650, "savings": 200},
                  "constraints": {"duration_days": 6}}},
        {"name": "calendar-gap", "path": "/v1/suggest",
         "body": {"trigger_type": "calendar_gap",
                  "context": {"gap_start": gap_start.isoformat(), "gap_end": gap_end.isoformat(),
                              "preferences": {"departure_city": "SGN", "interests": ["beach", "food"]}}}},
        {"name": "budget-surplus", "path": "/v1/suggest",
         "body": {"trigger_type": "budget_surplus",
                  "context": {"surplus_usd": 1500,
                              "preferences": {"departure_city": "SFO", "interests": ["nature"]}}}},
    ]


class Http:
    """Counts every response of the service, and the 5xx among them."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.responses = 0
        self.server_errors: list[str] = []

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 30.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        self.responses += 1
        if status >= 500:
            self.server_errors.append(f"{method} {path} -> {status}")
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return status, parsed


def prometheus(url: str | None) -> dict[str, float]:
    """Sums each metric's series by name (labels dropped)."""
    if not url:
        return {}
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            text = resp.read().decode()
    except (OSError, urllib.error.URLError):
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        name = parts[0].split("{", 1)[0]
        try:
            out[name] = out.get(name, 0.0) + float(parts[1])
        except ValueError:
            pass
    return out


def llama_idle(llama_url: str | None, limit: float) -> None:
    """Waits (bounded) until llama-server processes no request, so that a call
    the service abandoned does not count against the next job."""
    if not llama_url:
        return
    end = time.monotonic() + limit
    while time.monotonic() < end:
        m = prometheus(llama_url + "/metrics")
        if m.get("llamacpp:requests_processing", 0.0) == 0.0:
            return
        time.sleep(1)


def bad_numbers(value, path: str = "") -> list[str]:
    """Paths of negative or non-finite numbers (coordinates excepted)."""
    found = []
    if isinstance(value, bool):
        return found
    if isinstance(value, (int, float)):
        key = path.rsplit(".", 1)[-1]
        if not math.isfinite(value) or (value < 0 and key not in SIGNED_KEYS):
            found.append(f"{path}={value}")
    elif isinstance(value, dict):
        for k, v in value.items():
            found += bad_numbers(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += bad_numbers(v, f"{path}[{i}]")
    return found


def log_size(path: str | None) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def retries_logged(path: str | None, start: int) -> int | None:
    """Retries of LLM calls the service logged since byte `start` of its log."""
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            f.seek(start)
            return sum(1 for line in f if b"LLM call failed; retrying" in line)
    except OSError:
        return None


def run_job(http: Http, job: dict, args) -> dict:
    log_start = log_size(args.service_log)
    llama_metrics = args.llama_url + "/metrics" if args.llama_url else None
    svc_before = prometheus(http.base + "/metrics")
    llama_before = prometheus(llama_metrics)
    errors_before = len(http.server_errors)
    body = dict(job["body"], user_id="bench")
    started = time.monotonic()
    status_code, created = http.call("POST", job["path"], body)
    row = {"model": args.model, "name": job["name"], "path": job["path"], "request": body,
           "http_create": status_code, "log_start": log_start}
    if status_code != 202 or not isinstance(created, dict) or "job_id" not in created:
        row.update(outcome=f"rejected at create ({status_code})", detail=str(created)[:300],
                   wall_s=time.monotonic() - started)
        return finish(http, row, None, svc_before, llama_before, errors_before, args, llama_metrics)
    job_id = created["job_id"]
    row["job_id"] = job_id
    deadline = started + args.deadline
    status = None
    while True:
        code, status = http.call("GET", f"/v1/status/{job_id}")
        if code == 200 and isinstance(status, dict):
            state = status.get("status")
            if state in TERMINAL or state == "waiting_approval":
                break
        if time.monotonic() >= deadline:
            break
        time.sleep(args.poll)
    row["wall_s"] = time.monotonic() - started
    state = status.get("status") if isinstance(status, dict) else None
    if state == "completed":
        row["outcome"] = "completed"
    elif state == "waiting_approval":
        data = (status.get("approval") or {}).get("approval_data") or {}
        row["outcome"] = "awaiting_approval"
        row["detail"] = (f"estimate ${data.get('estimated_total_usd')} vs budget "
                         f"${data.get('budget_usd')} (over ${data.get('overage_usd')})")
    elif state in ("failed", "cancelled"):
        err = status.get("error") or {}
        row["outcome"] = f"{state} `{err.get('code')}`"
        row["detail"] = str(err.get("message"))
    else:
        stage = (status.get("progress") or {}).get("current_state") if isinstance(status, dict) else None
        row["outcome"] = "timeout"
        row["detail"] = f"still {state}/{stage} after {args.deadline:.0f}s; cancelled"
        http.call("POST", f"/v1/jobs/{job_id}/cancel")
        # Let the cancel land, and record what the job's tasks look like after it.
        time.sleep(2)
        code, after = http.call("GET", f"/v1/status/{job_id}")
        if code == 200 and isinstance(after, dict):
            row["after_cancel"] = after.get("status")
            status = after
    return finish(http, row, status, svc_before, llama_before, errors_before, args, llama_metrics)


def finish(http, row, status, svc_before, llama_before, errors_before, args, llama_metrics):
    row["final_status"] = status.get("status") if isinstance(status, dict) else None
    if isinstance(status, dict):
        row["tasks"] = {t.get("agent"): t.get("status") for t in status.get("tasks") or []}
        checked = {"final_result": status.get("final_result"),
                   "current_output": status.get("current_output"),
                   "approval": (status.get("approval") or {}).get("approval_data")}
        row["bad_numbers"] = bad_numbers(checked)
        usage = status.get("usage")
    else:
        row["tasks"] = {}
        row["bad_numbers"] = []
        usage = None
    llama_idle(args.llama_url, args.idle_wait)
    svc_after = prometheus(http.base + "/metrics")
    llama_after = prometheus(llama_metrics)

    def delta(after, before, key):
        return int(after[key] - before.get(key, 0.0)) if key in after else None

    if isinstance(usage, dict):
        row["usage_source"] = "status"
        row["calls"] = usage.get("calls")
        row["prompt_tokens"] = usage.get("prompt_tokens")
        row["completion_tokens"] = usage.get("completion_tokens")
    else:
        row["usage_source"] = "metrics"
        row["calls"] = delta(svc_after, svc_before, "lotara_llm_calls_total")
        row["prompt_tokens"] = delta(llama_after, llama_before, "llamacpp:prompt_tokens_total")
        row["completion_tokens"] = delta(llama_after, llama_before, "llamacpp:tokens_predicted_total")
        row["service_tokens"] = delta(svc_after, svc_before, "lotara_llm_tokens_total")
    row["server_errors"] = http.server_errors[errors_before:]
    row["retries"] = retries_logged(args.service_log, row.pop("log_start", 0))
    return row


def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown(rows: list[dict]) -> str:
    lines = [
        "| model | request | outcome | wall time | LLM calls | prompt / completion tokens | numbers ok, no 5xx |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        body = r["request"]
        if r["path"] == "/v1/plan":
            request = f"{r['name']}: \"{body['query']}\""
            if body.get("constraints"):
                request += f" + {json.dumps(body['constraints'], ensure_ascii=False)}"
        else:
            request = f"{r['name']}: suggest `{body['trigger_type']}` {json.dumps(body['context'], ensure_ascii=False)}"
        outcome = r["outcome"]
        if r.get("detail"):
            outcome += f" — {short(r['detail'])}"
        if r.get("after_cancel"):
            outcome += f" (then `{r['after_cancel']}`)"
        ended = r.get("final_status") in TERMINAL
        stuck = [a for a, s in (r.get("tasks") or {}).items() if s in ("running", "pending")]
        if ended and stuck:
            outcome += f"; tasks left non-terminal: {', '.join(stuck)}"
        tokens = f"{fmt(r.get('prompt_tokens'))} / {fmt(r.get('completion_tokens'))}"
        if r.get("usage_source") == "metrics":
            tokens += " ᵐ"
        checks = []
        checks.append("numbers ok" if not r["bad_numbers"] else "BAD: " + ", ".join(r["bad_numbers"][:4]))
        checks.append("no 5xx" if not r["server_errors"] else "5xx: " + ", ".join(r["server_errors"][:3]))
        lines.append("| " + " | ".join(cell(c) for c in [
            r["model"], request, outcome, f"{r['wall_s']:.0f} s", calls_cell(r), tokens, "; ".join(checks),
        ]) + " |")
    return "\n".join(lines) + "\n"


def summary(rows: list[dict], responses: int, server_errors: int) -> str:
    outcomes: dict[str, int] = {}
    for r in rows:
        key = r["outcome"].split()[0]
        outcomes[key] = outcomes.get(key, 0) + 1
    return (f"{len(rows)} jobs ({', '.join(f'{n} {k}' for k, n in sorted(outcomes.items()))}); "
            f"{responses} responses from the service, {server_errors} of them 5xx; "
            f"{sum(1 for r in rows if r['bad_numbers'])} job(s) with a negative or non-finite number.")


def calls_cell(r: dict) -> str:
    text = fmt(r.get("calls"))
    if r.get("retries"):
        text += f" (+{r['retries']} retries)"
    return text


def fmt(v) -> str:
    return "?" if v is None else f"{v:,}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="the Lotara service, e.g. http://127.0.0.1:8000")
    p.add_argument("--model", help="model name for the table")
    p.add_argument("--llama-url", help="llama-server base (its /metrics must be on: --metrics)")
    p.add_argument("--deadline", type=float, default=600.0, help="seconds one job may take (default 600)")
    p.add_argument("--service-log", help="the service's log, to count the retries of LLM calls")
    p.add_argument("--idle-wait", type=float, default=120.0,
                   help="after a job, wait up to this long for llama-server to finish what it still generates")
    p.add_argument("--poll", type=float, default=1.0, help="status poll interval in seconds")
    p.add_argument("--only", help="comma list of job names to run (default: all)")
    p.add_argument("--markdown", help="write the table here (default: stdout only)")
    p.add_argument("--json", help="write the raw rows here")
    p.add_argument("--combine", nargs="+", metavar="JSON",
                   help="print one table of the rows of these --json files, and stop")
    args = p.parse_args()
    if args.combine:
        rows, summaries = [], []
        for path in args.combine:
            with open(path) as f:
                data = json.load(f)
            rows += data["rows"]
            summaries.append(f"- {data['model']}: " + summary(data["rows"], data["responses"], data["server_errors"]))
        print(markdown(rows) + "\n" + "\n".join(summaries))
        return 0
    if not (args.url and args.model):
        p.error("--url and --model are required")

    jobs = plans() + suggestions()
    if args.only:
        wanted = set(args.only.split(","))
        jobs = [j for j in jobs if j["name"] in wanted]
    http = Http(args.url)
    rows = []
    for job in jobs:
        row = run_job(http, job, args)
        print(f"[{args.model}] {row['name']}: {row['outcome']} in {row['wall_s']:.0f}s "
              f"(calls {row.get('calls')}, tokens {row.get('prompt_tokens')}/{row.get('completion_tokens')})"
              + (f" — {short(row['detail'], 200)}" if row.get("detail") else ""), file=sys.stderr, flush=True)
        rows.append(row)
    table = markdown(rows) + "\n" + summary(rows, http.responses, len(http.server_errors)) + "\n"
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "responses": http.responses,
                       "server_errors": len(http.server_errors), "rows": rows}, f, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
